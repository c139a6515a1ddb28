import { createContext, useContext } from 'react';
import type { ApiResponse } from '@ocireg/web-api';

/** Who is signed in and the CSRF token their changes carry (what sign-in and GET /session both answer). */
export type SessionInfo = Pick<ApiResponse<'signIn'>, 'user' | 'csrfToken'>;

export interface SessionState {
  session: SessionInfo;
  signOut: () => Promise<void>;
}

export const SessionContext = createContext<SessionState | undefined>(undefined);

export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (!state) throw new Error('useSession outside a signed-in page');
  return state;
}
