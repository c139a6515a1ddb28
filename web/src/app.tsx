import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { api, ApiError, get, setCsrfToken, whenSignedOut } from './api';
import { Layout } from './components/layout';
import { AutomationPage } from './pages/automation';
import { AuditPage } from './pages/audit';
import { CreatePackagePage } from './pages/create-package';
import { ImagePage } from './pages/image';
import { ProjectPage } from './pages/project';
import { RepositoryPage } from './pages/repository';
import { RetentionPage } from './pages/retention';
import { SetPasswordPage } from './pages/set-password';
import { SignInPage } from './pages/sign-in';
import { TagPage } from './pages/tag';
import { TokensPage } from './pages/tokens';
import { UpstreamsPage } from './pages/upstreams';
import { ReplicationPage } from './pages/replication';
import { RecentlyDeletedPage } from './pages/recently-deleted';
import { ImmutableTagsPage } from './pages/immutable-tags';
import { UsagePage } from './pages/usage';
import { WorkspacePage } from './pages/workspace';
import { WebhooksPage } from './pages/webhooks';
import { WorkspacesPage } from './pages/workspaces';
import { navigate, useLocation } from './router';
import { SessionContext, type SessionInfo } from './session';

const decode = (part: string) => decodeURIComponent(part);

/** The page for a path (and the document's title). */
function pageFor(pathname: string): { title: string; page: ReactNode } {
  let m: RegExpMatchArray | null;
  if (pathname === '/') return { title: 'Workspaces', page: <WorkspacesPage /> };
  if (pathname === '/tokens') return { title: 'API tokens', page: <TokensPage /> };
  if (pathname === '/audit') return { title: 'Audit log', page: <AuditPage /> };
  if ((m = /^\/w\/([^/]+)\/webhooks$/.exec(pathname))) return { title: `Webhooks · ${decode(m[1]!)}`, page: <WebhooksPage workspace={decode(m[1]!)} /> };
  if ((m = /^\/w\/([^/]+)\/audit$/.exec(pathname))) return { title: `Audit log · ${decode(m[1]!)}`, page: <AuditPage workspace={decode(m[1]!)} /> };
  if ((m = /^\/w\/([^/]+)\/?$/.exec(pathname))) return { title: `Packages · ${decode(m[1]!)}`, page: <WorkspacePage workspace={decode(m[1]!)} /> };
  if ((m = /^\/w\/([^/]+)\/retention\/(.+)$/.exec(pathname))) return { title: `Retention · ${decode(m[2]!)}`, page: <RetentionPage workspace={decode(m[1]!)} name={decode(m[2]!)} /> };
  if ((m = /^\/w\/([^/]+)\/immutable-tags$/.exec(pathname))) return { title: `Immutable tags · ${decode(m[1]!)}`, page: <ImmutableTagsPage workspace={decode(m[1]!)} /> };
  if ((m = /^\/w\/([^/]+)\/upstreams$/.exec(pathname))) return { title: `Upstreams · ${decode(m[1]!)}`, page: <UpstreamsPage workspace={decode(m[1]!)} /> };
  if ((m = /^\/w\/([^/]+)\/replication$/.exec(pathname))) return { title: `Replication · ${decode(m[1]!)}`, page: <ReplicationPage workspace={decode(m[1]!)} /> };
  if ((m = /^\/w\/([^/]+)\/automation$/.exec(pathname))) return { title: `Automation · ${decode(m[1]!)}`, page: <AutomationPage workspace={decode(m[1]!)} /> };
  if ((m = /^\/w\/([^/]+)\/deleted$/.exec(pathname))) return { title: `Recently deleted · ${decode(m[1]!)}`, page: <RecentlyDeletedPage workspace={decode(m[1]!)} /> };
  if ((m = /^\/w\/([^/]+)\/usage$/.exec(pathname))) return { title: `Storage · ${decode(m[1]!)}`, page: <UsagePage workspace={decode(m[1]!)} /> };
  if ((m = /^\/w\/([^/]+)\/new-package$/.exec(pathname))) return { title: 'Create package', page: <CreatePackagePage workspace={decode(m[1]!)} /> };
  if ((m = /^\/w\/([^/]+)\/p\/([^/]+)\/r\/([^/]+)$/.exec(pathname))) return { title: `Repository ${decode(m[3]!)}`, page: <RepositoryPage workspace={decode(m[1]!)} project={decode(m[2]!)} repository={decode(m[3]!)} /> };
  if ((m = /^\/w\/([^/]+)\/p\/([^/]+)$/.exec(pathname))) return { title: `Project ${decode(m[2]!)}`, page: <ProjectPage workspace={decode(m[1]!)} project={decode(m[2]!)} /> };
  if ((m = /^\/w\/([^/]+)\/i\/(.+)\/-\/t\/([^/]+)$/.exec(pathname))) return { title: `${decode(m[2]!)}:${decode(m[3]!)}`, page: <TagPage workspace={decode(m[1]!)} name={decode(m[2]!)} tag={decode(m[3]!)} /> };
  if ((m = /^\/w\/([^/]+)\/i\/(.+)$/.exec(pathname))) return { title: decode(m[2]!), page: <ImagePage workspace={decode(m[1]!)} name={decode(m[2]!)} /> };
  return {
    title: 'Not found',
    page: (
      <Layout>
        <h1>Not found</h1>
        <p>There is no page at {pathname}.</p>
      </Layout>
    ),
  };
}

export function App() {
  const { pathname, search } = useLocation();
  const [session, setSession] = useState<SessionInfo | null>();

  const signedIn = useCallback((info: SessionInfo) => {
    setCsrfToken(info.csrfToken);
    setSession(info);
    if (location.pathname === '/sign-in') navigate(search.get('next') ?? '/', true);
  }, [search]);

  useEffect(() => {
    whenSignedOut(() => setSession(null));
    get<'currentSession'>('/session').then(signedIn, (err: unknown) => {
      if (!(err instanceof ApiError) || err.status !== 401) console.warn(err);
      setSession(null);
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const signOut = useCallback(async () => {
    await api<'signOut'>('DELETE', '/session').catch(() => undefined);
    setCsrfToken('');
    setSession(null);
    navigate('/sign-in');
  }, []);

  let title = 'Sign in';
  let page: ReactNode;
  if (pathname === '/set-password') {
    title = 'Set your password';
    page = <SetPasswordPage />;
  } else if (session === undefined) {
    page = (
      <main id="main">
        <p role="status">Loading…</p>
      </main>
    );
  } else if (session === null || pathname === '/sign-in') {
    page = <SignInPage onSignedIn={signedIn} email={search.get('email') ?? ''} />;
  } else {
    ({ title, page } = pageFor(pathname));
  }
  useEffect(() => {
    document.title = `${title} · ocireg`;
  }, [title]);
  return session ? <SessionContext.Provider value={{ session, signOut }}>{page}</SessionContext.Provider> : <>{page}</>;
}
