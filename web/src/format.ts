/** 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1024) return `${Math.max(0, Math.round(bytes || 0))} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

/** An RFC 3339 time as "3 minutes ago" (the exact time is in the element's title). */
export function timeAgo(iso: string, now = Date.now()): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return '—';
  const seconds = Math.round((now - at) / 1000);
  if (seconds < 0) return 'just now';
  if (seconds < 60) return seconds <= 5 ? 'just now' : `${seconds} seconds ago`;
  const steps: Array<[number, string]> = [
    [60, 'minute'],
    [3600, 'hour'],
    [86_400, 'day'],
    [30 * 86_400, 'month'],
    [365 * 86_400, 'year'],
  ];
  let chosen: [number, string] = steps[0]!;
  for (const step of steps) if (seconds >= step[0]) chosen = step;
  const count = Math.floor(seconds / chosen[0]);
  return `${count} ${chosen[1]}${count === 1 ? '' : 's'} ago`;
}

export function shortDigest(digest: string): string {
  const [algorithm, hex] = digest.split(':');
  return hex ? `${algorithm}:${hex.slice(0, 12)}` : digest;
}

export function platformText(platform: { os: string; architecture: string; variant: string }): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

/** The registry's host, as docker names it (the page's host). */
export function registryHost(): string {
  return location.host;
}
