import { RegistryError } from '@ocireg/errors';
import { unaryCall } from '@ocireg/grpc';
import type { auth } from '@ocireg/proto';

/**
 * The admin API takes a user as an id or an email address. Metadata stores
 * ids and cannot check them (users belong to auth), so the admin port
 * resolves each one at auth first: an unknown user is NOT_FOUND, never a
 * membership that silently grants nothing.
 */
export class UserResolver {
  constructor(private readonly auth: auth.AuthServiceClient) {}

  /**
   * The user's id. With `roleIn` (a role is being given: the workspace it is
   * in), a service account of another workspace is refused: it holds roles in
   * its own workspace only, so that workspace's admins, who hold its tokens,
   * gain no power elsewhere through it.
   */
  async idOf(idOrEmail: string, requestId: string, roleIn?: () => Promise<string>): Promise<string> {
    const { users } = await unaryCall(this.auth.lookupUsers.bind(this.auth), { users: [idOrEmail] }, { requestId });
    const user = users[0];
    if (!user) throw new RegistryError('NOT_FOUND', `user ${idOrEmail.slice(0, 200)} does not exist`, { field: 'user_id' });
    if (user.serviceAccountWorkspace && roleIn && (await roleIn()) !== user.serviceAccountWorkspace) {
      throw new RegistryError('DENIED', `${user.email.slice(0, 200)} is a service account of workspace ${user.serviceAccountWorkspace} and holds roles there only`, { field: 'user_id' });
    }
    return user.id;
  }

  /** Emails of user ids (unknown ids are left out). */
  async emailsOf(ids: string[], requestId: string): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const { users } = await unaryCall(this.auth.lookupUsers.bind(this.auth), { users: ids }, { requestId });
    return new Map(users.map((user) => [user.id, user.email]));
  }
}
