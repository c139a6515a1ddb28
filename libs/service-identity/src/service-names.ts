import { SERVICE_NAMES, type ServiceName } from '@ocireg/topology';

/** The registry's services, as their certificates name them (subject CN): the processes of libs/topology. */
export { SERVICE_NAMES, type ServiceName };

export function isServiceName(value: unknown): value is ServiceName {
  return typeof value === 'string' && (SERVICE_NAMES as readonly string[]).includes(value);
}
