import { Command, InvalidArgumentError } from 'commander';
import { unaryCall } from '@ocireg/grpc';
import { webhooks } from '@ocireg/proto';

interface WebhookCli {
  webhooks(): webhooks.WebhookServiceClient;
  as(): { authorization: string };
  print(value: unknown): void;
}

const list = (value: string) => value.split(',').map((part) => part.trim()).filter(Boolean);
const seconds = (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number of seconds');
  return n;
};

/**
 * `registryctl webhook ...` (docs/webhooks.md): a workspace's hooks (its
 * admins and operators), their delivery log, redelivery, ping, secret rotation.
 */
export function addWebhookCommands(program: Command, cli: WebhookCli): void {
  const group = program.command('webhook').description('webhooks: signed CloudEvents to a URL when images are pushed, tags move or go, packages are created');
  const call = async <Q, R>(method: keyof webhooks.WebhookServiceClient, request: Q): Promise<R> => {
    const client = cli.webhooks();
    return unaryCall((client[method] as (...args: never[]) => unknown).bind(client) as never, request, cli.as()) as Promise<R>;
  };
  const print = <T>(type: { toJSON(message: T): unknown }) => (message: T) => cli.print(type.toJSON(message));

  group
    .command('create <workspace> <url>')
    .description('a new hook; prints its signing secret, this once')
    .option('--events <types>', 'event types, comma-separated (image.pushed,tag.moved,tag.deleted,manifest.deleted,package.created,package.deleted,retention.applied,quota.nearly-full); default every type', list, [])
    .option('--packages <patterns>', 'package name patterns, comma-separated (api,tools/*); default every package', list, [])
    .action(async (workspaceSlug: string, url: string, o: { events: string[]; packages: string[] }) => {
      print(webhooks.CreateWebhookResponse)(await call('createWebhook', { workspaceSlug, url, eventTypes: o.events, packagePatterns: o.packages }));
    });
  group.command('list <workspace>').action(async (workspaceSlug: string) => print(webhooks.ListWebhooksResponse)(await call('listWebhooks', { workspaceSlug })));
  group.command('get <webhook-id>').action(async (webhookId: string) => print(webhooks.GetWebhookResponse)(await call('getWebhook', { webhookId })));
  group
    .command('update <webhook-id>')
    .option('--url <url>', 'a new target')
    .option('--events <types>', 'replace the event types (with --packages: both filters; "" for every type)', list)
    .option('--packages <patterns>', 'replace the package patterns ("" for every package)', list)
    .option('--enable', 'enable it again (after it was disabled for failing)')
    .option('--disable', 'stop deliveries (they wait until it is enabled)')
    .action(async (webhookId: string, o: { url?: string; events?: string[]; packages?: string[]; enable?: boolean; disable?: boolean }) => {
      const current = o.events || o.packages ? (await call<unknown, webhooks.GetWebhookResponse>('getWebhook', { webhookId })).webhook : undefined;
      print(webhooks.UpdateWebhookResponse)(
        await call('updateWebhook', {
          webhookId,
          url: o.url ?? '',
          replaceFilters: Boolean(o.events || o.packages),
          eventTypes: o.events ?? current?.eventTypes ?? [],
          packagePatterns: o.packages ?? current?.packagePatterns ?? [],
          state: o.enable ? 'enable' : o.disable ? 'disable' : '',
        }),
      );
    });
  group.command('delete <webhook-id>').action(async (webhookId: string) => {
    await call('deleteWebhook', { webhookId });
    cli.print({ deleted: { webhookId } });
  });
  group
    .command('rotate-secret <webhook-id>')
    .description('a new secret (printed once); the old one keeps signing beside it for the overlap')
    .option('--overlap-seconds <n>', 'how long the old secret still signs (default 86400, at most 604800)', seconds, 0)
    .action(async (webhookId: string, o: { overlapSeconds: number }) => print(webhooks.RotateWebhookSecretResponse)(await call('rotateWebhookSecret', { webhookId, overlapSeconds: o.overlapSeconds })));
  group
    .command('deliveries <webhook-id>')
    .description('the delivery log, newest first: each event, its state and every attempt (time, status, latency, first bytes of the answer)')
    .option('--limit <n>', 'deliveries per page (at most 100)', (value) => Number(value), 20)
    .option('--page-token <token>', 'the next page, as the previous one named it', '')
    .action(async (webhookId: string, o: { limit: number; pageToken: string }) => print(webhooks.ListWebhookDeliveriesResponse)(await call('listWebhookDeliveries', { webhookId, pageSize: o.limit, pageToken: o.pageToken })));
  group
    .command('redeliver <webhook-id> <delivery-id>')
    .description("sends a delivery's event again (the same event id) as a new delivery")
    .action(async (webhookId: string, deliveryId: string) => print(webhooks.RedeliverWebhookDeliveryResponse)(await call('redeliverWebhookDelivery', { webhookId, deliveryId })));
  group
    .command('ping <webhook-id>')
    .description('sends a test event (io.ocireg.webhook.ping) now')
    .action(async (webhookId: string) => print(webhooks.PingWebhookResponse)(await call('pingWebhook', { webhookId })));
}
