// Key search in a recording (Guacamole's): the typed input — an asciicast's "i" events,
// or a graphical recording's key presses as the text their keysyms type, concatenated in
// order — searched for a word; each match gives the time of its first keystroke and of
// its last, where a player would jump to.
import { z } from 'zod';
import { parseRfbRecording, typedText } from '../../shared/protocol/index.js';

const Event = z.tuple([z.number(), z.string(), z.string()]).rest(z.unknown());

/** Where `query` occurs in the input typed in `cast` (an asciicast v2 file's text). Lines that are not events are passed over. */
export function searchTyped(cast: string, query: string): Array<{ start: number; end: number }> {
  if (query === '') return [];
  let typed = '';
  // The time of each UTF-16 unit of `typed`, by the event that carried it.
  const times: number[] = [];
  for (const line of cast.split('\n').slice(1)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue;
    }
    const event = Event.safeParse(parsed);
    if (!event.success || event.data[1] !== 'i') continue;
    const [t, , text] = event.data;
    typed += text;
    for (let i = 0; i < text.length; i++) times.push(t);
  }
  return find(typed, times, query);
}

/** Where `query` occurs in what was typed in a graphical session's recording (times in s, as for asciicast). A damaged file: none. */
export function searchTypedRfb(file: Uint8Array, query: string): Array<{ start: number; end: number }> {
  if (query === '') return [];
  const { text, times } = typedText(parseRfbRecording(file).records);
  return find(text, times.map((ms) => ms / 1000), query);
}

function find(typed: string, times: number[], query: string): Array<{ start: number; end: number }> {
  const matches: Array<{ start: number; end: number }> = [];
  for (let at = typed.indexOf(query); at !== -1; at = typed.indexOf(query, at + query.length)) {
    matches.push({ start: times[at]!, end: times[at + query.length - 1]! });
  }
  return matches;
}
