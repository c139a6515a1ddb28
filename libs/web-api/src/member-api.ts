import { z } from 'zod';
import { oneOf, requiredText } from './request-fields';
import type { RouteSchema } from './route-schema';
import { exact, member, nothing, roleWord } from './shapes';

/** A source repository's members and their roles (visible to its members, changed by its Admins). */
export const memberApi = {
  /** GET /repositories/{id}/members, by email */
  listMembers: {
    response: exact({ members: z.array(member) }),
  },
  /** PUT /repositories/{id}/members: user by email or user id */
  setMember: {
    body: z.object({ role: oneOf(['read', 'write', 'admin'], 'role must be read, write or admin'), user: requiredText('user (an email or user id) is required') }),
    response: exact({ member: exact({ userId: z.string(), role: roleWord }) }),
  },
  /** DELETE /repositories/{id}/members/{userId} */
  removeMember: { response: nothing },
} satisfies Record<string, RouteSchema>;
