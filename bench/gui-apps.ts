// The GUI bench's fast-changing workload (issue 26, part "gui-networks"): a software-
// rendered, photo-like animation — a smooth colour field with film grain, panned a few
// pixels each frame (twelve frames over and over), 30 frames a second — drawn by Tk over the whole 1280×800 display.
// Every frame changes every pixel, as video or a 3D view does; Tight encodes it as JPEG
// where the viewer allows, so the image quality chosen for the link decides its bytes.
// The frames are made once, at start (Tk then only puts each on the screen), so the app
// can go faster than any of the links it is measured on.
const ANIMATION = `
import math, random, tkinter as tk
W, H, FRAMES = 1280, 800, 12
random.seed(7)
rows = []
for y in range(H):
    row = bytearray(W * 3)
    for x in range(W):
        grain = random.randint(-10, 10)
        row[3 * x] = max(0, min(255, int(128 + 100 * math.sin(x / 37 + y / 53)) + grain))
        row[3 * x + 1] = max(0, min(255, int(128 + 100 * math.sin(x / 23 - y / 41)) + grain))
        row[3 * x + 2] = max(0, min(255, int(128 + 100 * math.cos((x + y) / 61)) + grain))
    rows.append(bytes(row))
header = b'P6 %d %d 255\\n' % (W, H)
root = tk.Tk()
root.geometry('%dx%d+0+0' % (W, H))
def frame(k):
    dx = (8 * k) % W * 3
    dy = (4 * k) % H
    return tk.PhotoImage(data=header + b''.join(r[dx:] + r[:dx] for r in rows[dy:] + rows[:dy]), format='PPM')
frames = [frame(k) for k in range(FRAMES)]
label = tk.Label(root, image=frames[0], borderwidth=0)
label.pack()
shown = 0
def step():
    global shown
    shown = (shown + 1) % FRAMES
    label.configure(image=frames[shown])
    root.after(33, step)
step()
root.mainloop()
`;

export const GUI_ANIMATION_APP = { id: 'gui-animation', name: 'Animation', display: 'rfb', geometry: '1280x800', command: '/usr/bin/python3', args: ['-c', ANIMATION] };
