// App icons by catalog name, drawn inline so the client needs no image requests.
import type { ReactElement } from 'react';
const paths: Record<string, ReactElement> = {
  terminal: (
    <>
      <rect x="3" y="5" width="26" height="22" rx="3" />
      <path d="M8 12l5 4-5 4M15 21h8" />
    </>
  ),
  python: (
    <>
      <path d="M16 4c-6 0-6 3-6 3v4h6v1H7s-4 0-4 6 3.5 6 3.5 6H9v-3s0-4 4-4h6s3 0 3-3V7s0-3-6-3z" />
      <path d="M16 28c6 0 6-3 6-3v-4h-6v-1h9s4 0 4-6-3.5-6-3.5-6H23v3s0 4-4 4h-6s-3 0-3 3v7s0 3 6 3z" />
    </>
  ),
  monitor: (
    <>
      <rect x="3" y="5" width="26" height="18" rx="2" />
      <path d="M7 18l5-6 4 4 4-7 5 9M11 27h10" />
    </>
  ),
  window: (
    <>
      <rect x="3" y="5" width="26" height="22" rx="2" />
      <path d="M3 10h26M7 7.5h1M10 7.5h1" />
    </>
  ),
  editor: (
    <>
      <path d="M7 3h13l5 5v21H7z" />
      <path d="M11 13h10M11 18h10M11 23h6" />
    </>
  ),
};

export function AppIcon({ name }: { name: string }) {
  return (
    <svg className="app-icon" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
      {paths[name] ?? paths.terminal}
    </svg>
  );
}
