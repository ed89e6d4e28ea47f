import type { KeyboardEvent } from 'react';

export interface Tab {
  key: string;
  label: string;
  closable: boolean;
}

/** WAI-ARIA tabs: arrows move between tabs, Delete closes a session tab. */
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
    <nav className="tabs" role="tablist" aria-label="Sessions">
      {tabs.map((tab, index) => (
        <div key={tab.key} className={`tab${tab.key === active ? ' active' : ''}`}>
          <button
            id={`tab-${tab.key}`}
            role="tab"
            aria-selected={tab.key === active}
            tabIndex={tab.key === active ? 0 : -1}
            onClick={() => onSelect(tab.key)}
            onKeyDown={(e) => onKey(e, index)}
          >
            {tab.label}
          </button>
          {tab.closable && (
            <button className="tab-close" aria-label={`Close ${tab.label}`} onClick={() => onClose(tab.key)}>
              ×
            </button>
          )}
        </div>
      ))}
    </nav>
  );
}
