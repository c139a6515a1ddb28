import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from 'react';

/** A small history-API router: the app's URLs are real paths the gateway answers with index.html. */
const CHANGE = 'ocireg:navigate';

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  window.dispatchEvent(new Event(CHANGE));
  window.scrollTo(0, 0);
}

export function useLocation(): { pathname: string; search: URLSearchParams } {
  const read = () => ({ pathname: location.pathname, search: new URLSearchParams(location.search) });
  const [current, setCurrent] = useState(read);
  useEffect(() => {
    const update = () => setCurrent(read());
    window.addEventListener('popstate', update);
    window.addEventListener(CHANGE, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(CHANGE, update);
    };
  }, []);
  return current;
}

export function Link({ to, ...rest }: { to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={onClick} {...rest} />;
}

/** URL paths of the app's pages. */
export const paths = {
  workspace: (ws: string) => `/w/${ws}`,
  usage: (ws: string) => `/w/${ws}/usage`,
  deleted: (ws: string) => `/w/${ws}/deleted`,
  upstreams: (ws: string) => `/w/${ws}/upstreams`,
  replication: (ws: string) => `/w/${ws}/replication`,
  retention: (ws: string, name: string) => `/w/${ws}/retention/${name}`,
  immutableTags: (ws: string) => `/w/${ws}/immutable-tags`,
  automation: (ws: string) => `/w/${ws}/automation`,
  project: (ws: string, project: string) => `/w/${ws}/p/${project}`,
  repository: (ws: string, project: string, repository: string) => `/w/${ws}/p/${project}/r/${repository}`,
  createPackage: (ws: string) => `/w/${ws}/new-package`,
  image: (ws: string, name: string) => `/w/${ws}/i/${name}`,
  tag: (ws: string, name: string, tag: string) => `/w/${ws}/i/${name}/-/t/${encodeURIComponent(tag)}`,
  tokens: () => '/tokens',
  webhooks: (ws: string) => `/w/${ws}/webhooks`,
  audit: (ws?: string) => (ws ? `/w/${ws}/audit` : '/audit'),
};
