import { describe, expect, it } from 'vitest';
import { effectiveRole, roleAllows, ROLES, type PackageAction, type Role, type RoleSources } from './roles';

const ACTIONS: PackageAction[] = ['pull', 'push', 'delete-tag', 'delete-manifest', 'create-package', 'link-package'];

// What each role may do, as the product defines it.
const EXPECTED: Record<Role, PackageAction[]> = {
  read: ['pull'],
  write: ['pull', 'push', 'delete-tag'],
  admin: ACTIONS,
};

type Source = 'inherited' | 'explicit' | 'workspace-admin' | 'none';

function sourcesFor(source: Source, role: Role): RoleSources {
  switch (source) {
    case 'inherited':
      return { repositoryRole: role, workspaceAdmin: false };
    case 'explicit':
      return { packageGrant: role, workspaceAdmin: false };
    case 'workspace-admin':
      return { workspaceAdmin: true };
    case 'none':
      return { workspaceAdmin: false };
  }
}

describe('effective role: every role x every action x every source', () => {
  const cases = ROLES.flatMap((role) =>
    (['inherited', 'explicit', 'none'] as Source[]).flatMap((source) => ACTIONS.map((action) => [role, source, action] as const)),
  );

  it.each(cases)('%s via %s, %s', (role, source, action) => {
    const effective = effectiveRole(sourcesFor(source, role));
    const expected = source === 'none' ? false : EXPECTED[role].includes(action);
    expect(roleAllows(effective, action)).toBe(expected);
  });

  it.each(ACTIONS)('a workspace admin may %s', (action) => {
    expect(roleAllows(effectiveRole(sourcesFor('workspace-admin', 'read')), action)).toBe(true);
  });

  it('takes the strongest of the inherited role and an explicit grant', () => {
    expect(effectiveRole({ repositoryRole: 'read', packageGrant: 'write', workspaceAdmin: false })).toBe('write');
    expect(effectiveRole({ repositoryRole: 'admin', packageGrant: 'read', workspaceAdmin: false })).toBe('admin');
    expect(effectiveRole({ workspaceAdmin: false })).toBeUndefined();
  });
});
