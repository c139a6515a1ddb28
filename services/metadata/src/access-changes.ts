import type { AccessStateWriter, AccessSubject } from '@ocireg/access-state';

export interface AccessChanges {
  /** Access changed for a user ("user:<id>") or for everyone in a workspace ("workspace:<slug>": a link, a setting). */
  announce(subject: AccessSubject): Promise<void>;
}

export const NO_ANNOUNCEMENTS: AccessChanges = { announce: async () => undefined };

/** Announces to every gateway (Redis or PostgreSQL, see @ocireg/access-state), which then refuses registry tokens decided before. */
export class AccessStateChanges implements AccessChanges {
  constructor(private readonly accessState: Pick<AccessStateWriter, 'accessChanged'>) {}

  announce(subject: AccessSubject): Promise<void> {
    return this.accessState.accessChanged(subject);
  }
}
