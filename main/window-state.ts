// The desktop window's size, position and maximized state, remembered between runs
// (userData/window-state.json). A saved position on a screen that is gone is dropped.
import { screen, type BrowserWindow, type Rectangle } from 'electron';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { WindowPlacement } from './windows.js';

const Saved = z.object({
  bounds: z.object({ x: z.number().int(), y: z.number().int(), width: z.number().int().min(320).max(16_384), height: z.number().int().min(240).max(16_384) }),
  maximized: z.boolean(),
});

const overlaps = (a: Rectangle, b: Rectangle): boolean => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

export function loadPlacement(file: string): WindowPlacement | null {
  let saved: z.infer<typeof Saved>;
  try {
    const parsed = Saved.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success) return null;
    saved = parsed.data;
  } catch {
    return null;
  }
  const visible = screen.getAllDisplays().some((display) => overlaps(saved.bounds, display.workArea));
  const { width, height } = saved.bounds;
  return { bounds: visible ? saved.bounds : { width, height }, maximized: saved.maximized };
}

/** Saves the placement whenever the window is moved, resized or closed. */
export function rememberPlacement(window: BrowserWindow, file: string): void {
  let timer: NodeJS.Timeout | undefined;
  const save = () => {
    clearTimeout(timer);
    if (window.isDestroyed()) return;
    const state = { bounds: window.getNormalBounds(), maximized: window.isMaximized() };
    try {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(state) + '\n');
    } catch {
      /* a read-only profile: the window simply opens at the default size next time */
    }
  };
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(save, 500);
  };
  window.on('resize', later);
  window.on('move', later);
  window.on('close', save);
}
