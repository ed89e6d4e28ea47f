// A running session's thumbnail (docs/protocol.md#session-thumbnails): what
// GET /api/sessions/ID/thumbnail answers its owner. A terminal's visible rows as text;
// a graphical screen scaled down and encoded as PNG (base64: the answer stays JSON, like
// every other /api/ answer, and the page shows it as a data: URL its CSP already allows).
import { z } from 'zod';

/** The largest side of an image thumbnail, in pixels. */
export const THUMBNAIL_MAX_PX = 320;

export const ThumbnailSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('text'),
    cols: z.number().int().positive(),
    rows: z.number().int().positive(),
    /** The visible rows, top to bottom, each without its trailing blanks, joined by "\n". */
    text: z.string(),
  }),
  z.object({
    kind: z.literal('image'),
    width: z.number().int().positive().max(THUMBNAIL_MAX_PX),
    height: z.number().int().positive().max(THUMBNAIL_MAX_PX),
    /** The PNG file, base64. */
    png: z.string(),
  }),
]);
export type Thumbnail = z.infer<typeof ThumbnailSchema>;
