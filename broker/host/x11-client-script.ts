// The X11 client both sandbox-side Python helpers are built on (keymap-keeper.ts,
// window-title.ts): Python's standard library only (no Xlib in a bare sandbox), one
// connection to the display's socket set up without authorisation (the display admits
// its sandbox's clients), numbered requests whose replies are told from the events and
// errors that arrive between them. Pasted into each script ahead of its own code.

export const X11_CLIENT_PY = `import socket, struct

def connection(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    buf = bytearray()
    def read(n):
        while len(buf) < n:
            chunk = s.recv(65536)
            if not chunk: raise EOFError
            buf.extend(chunk)
        b = bytes(buf[:n])
        del buf[:n]
        return b
    return s, buf, read

def x11(path):
    # (socket, its unread bytes, read(n), the setup reply's body, the root window,
    # events that came while waiting for replies, request(data, reply=True)); None if refused.
    s, buf, read = connection(path)
    s.sendall(struct.pack('<BxHHHHxx', ord('l'), 11, 0, 0, 0))
    head = read(8)
    if head[0] != 1: return None
    body = read(struct.unpack_from('<H', head, 6)[0] * 4)
    vendor, = struct.unpack_from('<H', body, 16)
    root, = struct.unpack_from('<I', body, 32 + ((vendor + 3) & ~3) + 8 * body[21])
    seq = [0]
    events = []
    def packet():
        p = read(32)
        if p[0] & 0x7f == 35: p += read(struct.unpack_from('<I', p, 4)[0] * 4)  # GenericEvent
        return p
    def request(data, reply=True):
        s.sendall(data)
        seq[0] = (seq[0] + 1) & 0xffff
        if not reply: return None
        while True:
            p = packet()
            if p[0] == 1: return p + read(struct.unpack_from('<I', p, 4)[0] * 4)
            if p[0] == 0:
                # An error (say, the window went away): no answer to this request.
                if struct.unpack_from('<H', p, 2)[0] == seq[0]: return None
                continue
            events.append(p)
    return s, buf, read, body, root, events, request, packet
`;
