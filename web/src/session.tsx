import { createContext, useContext } from 'react';
import type { SessionInfo } from './types';

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
