import { RegistryError } from '@ocireg/errors';
import type { PasswordStore } from './password-store';
import type { TokenStore } from './token-store';

/**
 * Who may set whose password (docs/security.md, "Who may create credentials
 * or links for whom"). Operators make invitation and reset links for anyone.
 * A workspace admin's invitation may only reach someone the workspace owns:
 * a new person (the invitation creates them), or someone who never used an
 * account (no password, no API token ever) and holds roles in no workspace
 * but this one: a member of it, or a person an earlier invitation of this
 * workspace created. Anything else would let one workspace's admin set the
 * password of an account that can act elsewhere. The check runs when the
 * link is made and again when it is used, since roles may change in between.
 */
export class InvitationPolicy {
  constructor(
    private readonly deps: {
      store: Pick<TokenStore, 'invitedToWorkspace' | 'hasHadTokens'>;
      passwords: Pick<PasswordStore, 'hasPassword'>;
      isOperator(email: string): boolean;
      /** Asked of metadata: the workspaces where the user holds any role. */
      workspacesOf(userId: string): Promise<string[]>;
    },
  ) {}

  /** Throws DENIED unless an invitation made by an admin of `workspace` may set this user's password. */
  async checkWorkspaceInvitation(user: { id: string; email: string }, workspace: string): Promise<void> {
    const { store, passwords, isOperator, workspacesOf } = this.deps;
    // One answer for every reason, so it tells a workspace admin nothing about other workspaces.
    const refuse = () =>
      new RegistryError('DENIED', `${user.email.slice(0, 200)} already has an account that is not only workspace ${workspace.slice(0, 64)}'s (or is not a member of it yet); an operator can invite them or reset their password`, { field: 'user' });
    if (isOperator(user.email)) throw refuse();
    if ((await passwords.hasPassword(user.id)) || (await store.hasHadTokens(user.id))) throw refuse();
    const workspaces = await workspacesOf(user.id);
    if (workspaces.some((slug) => slug !== workspace)) throw refuse();
    if (workspaces.length === 0 && (await store.invitedToWorkspace(user.id)) !== workspace) throw refuse();
  }
}
