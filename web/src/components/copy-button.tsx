import { useState } from 'react';

/** Copies `text` to the clipboard and says so. `label` ("Copy the …") is its accessible name; the rest after "Copy" is for screen readers only. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Without clipboard permission (plain http off localhost), select-and-copy still works on the text shown.
      return;
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 2000);
  };
  return (
    <button type="button" className="small" onClick={() => void copy()}>
      {copied ? 'Copied' : 'Copy'}
      <span className="sr-only">{label.replace(/^Copy/, '')}</span>
    </button>
  );
}

/** A shell line with a copy button. */
export function CommandLine({ command, label }: { command: string; label: string }) {
  return (
    <div className="command">
      <code>{command}</code>
      <CopyButton text={command} label={label} />
    </div>
  );
}
