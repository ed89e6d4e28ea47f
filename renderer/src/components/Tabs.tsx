import type { KeyboardEvent } from 'react';

export interface Tab {
  key: string;
  label: string;
  closable: boolean;
}

/**
 * WAI-ARIA tabs: arrows move between tabs, Delete closes a session tab (its session
 * keeps running). The tab list holds tabs only: each tab's × is for the mouse and
 * hidden from assistive technology, which has Delete (aria-keyshortcuts) instead.
 */
export function Tabs({ tabs, active, onSelect, onClose }: { tabs: Tab[]; active: string; onSelect: (key: string) => void; onClose: (key: string) => void }) {
  const onKey = (event: KeyboardEvent, index: number) => {
    const move = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
    if (move) {
      const next = tabs[(index + move + tabs.length) % tabs.length]!;
      onSelect(next.key);
      document.getElementById(`tab-${next.key}`)?.focus();
    } else if (event.key === 'Delete' && tabs[index]?.closable) {
      onClose(tabs[index]!.key);
    }
  };
  return (
    <nav className="tabs" aria-label="Sessions">
      <div role="tablist" aria-label="Sessions" className="tab-list">
        {tabs.map((tab, index) => (
          <button
            key={tab.key}
            id={`tab-${tab.key}`}
            role="tab"
            className={`tab${tab.key === active ? ' active' : ''}`}
            aria-selected={tab.key === active}
            tabIndex={tab.key === active ? 0 : -1}
            onClick={() => onSelect(tab.key)}
            onKeyDown={(e) => onKey(e, index)}
            {...(tab.closable ? { 'aria-keyshortcuts': 'Delete', title: `${tab.label} — Delete or × closes the tab; the session keeps running` } : {})}
          >
            {tab.label}
            {tab.closable && (
              // The × is drawn by CSS (::before), so it is not part of the tab's text.
              <span
                className="tab-close"
                aria-hidden="true"
                onClick={(event) => {
                  event.stopPropagation();
                  onClose(tab.key);
                }}
              />
            )}
          </button>
        ))}
      </div>
    </nav>
  );
}
