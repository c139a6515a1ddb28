/**
 * Previous / next over keyset pages. `tokens` is the stack of page tokens
 * walked so far ('' for the first page); the last one is the page shown.
 */
export function Pager({ label, tokens, setTokens, nextPageToken }: { label: string; tokens: string[]; setTokens: (tokens: string[]) => void; nextPageToken: string | undefined }) {
  return (
    <nav className="pager" aria-label={label}>
      <button type="button" className="small" disabled={tokens.length <= 1} onClick={() => setTokens(tokens.slice(0, -1))}>
        Previous page
      </button>
      <span className="muted">Page {tokens.length}</span>
      <button type="button" className="small" disabled={!nextPageToken} onClick={() => nextPageToken && setTokens([...tokens, nextPageToken])}>
        Next page
      </button>
    </nav>
  );
}
