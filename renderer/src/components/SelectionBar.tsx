// The Files panel's toolbar (FilesPanel.tsx): what acts on the folder shown — "Select
// all" (checked, unchecked, or mixed when some are), how many are selected, and
// "Download N as zip". Other actions on the folder (Upload) join it as children.
import { useEffect, useId, useRef, type ReactNode } from 'react';

export interface SelectionBarProps {
  /** Entries that can be selected in the folder shown. */
  selectable: number;
  selected: number;
  /** False where downloads are off: nothing to select for. */
  enabled: boolean;
  /** A zip is downloading: one at a time. */
  zipping: boolean;
  /** Why the selection cannot be zipped as it is (too many for one request), else null. */
  tooMany: string | null;
  onSelectAll(all: boolean): void;
  onZip(): void;
  /** More of the panel's actions (Upload, later). */
  children?: ReactNode;
}

export function SelectionBar({ selectable, selected, enabled, zipping, tooMany, onSelectAll, onZip, children }: SelectionBarProps) {
  const all = useRef<HTMLInputElement>(null);
  const why = useId();
  const some = selected > 0 && selected < selectable;
  // "Mixed" is a property of the element, not an attribute React sets.
  useEffect(() => {
    if (all.current) all.current.indeterminate = some;
  }, [some]);
  const items = selected === 1 ? '1 item' : `${selected} items`;
  return (
    <div className="files-toolbar" role="toolbar" aria-label="Files actions">
      {enabled && selectable > 0 && (
        <>
          <label className="files-select-all">
            <input ref={all} type="checkbox" checked={selected > 0 && selected === selectable} onChange={(event) => onSelectAll(event.target.checked)} />
            Select all
          </label>
          <span className="muted files-selected" aria-live="polite">
            {selected > 0 ? `${items} selected` : ''}
          </span>
          <button onClick={onZip} disabled={selected === 0 || zipping || tooMany !== null} aria-describedby={tooMany ? why : undefined}>
            {selected > 0 ? `Download ${selected} as zip` : 'Download as zip'}
          </button>
          {tooMany && (
            <span id={why} className="muted">
              {tooMany}
            </span>
          )}
        </>
      )}
      {children}
    </div>
  );
}
