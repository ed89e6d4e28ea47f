import { describe, expect, it } from 'vitest';
import { resumeOnGesture } from './resume-on-gesture.js';

class FakeContext {
  state = 'suspended';
  resumes = 0;
  resume(): Promise<void> {
    this.resumes += 1;
    this.state = 'running';
    return Promise.resolve();
  }
}

describe('resuming sound on the page’s next gesture', () => {
  it('resumes a suspended context on a press, a tap or a key, and leaves a running one alone', () => {
    const page = new EventTarget();
    const context = new FakeContext();
    resumeOnGesture(context, page);
    page.dispatchEvent(new Event('pointermove'));
    expect(context.resumes).toBe(0);
    page.dispatchEvent(new Event('pointerdown'));
    expect(context.resumes).toBe(1);
    page.dispatchEvent(new Event('keydown'));
    expect(context.resumes).toBe(1);
    // Suspended again (a browser may): the next gesture resumes it again.
    context.state = 'suspended';
    page.dispatchEvent(new Event('pointerup'));
    expect(context.resumes).toBe(2);
    context.state = 'suspended';
    page.dispatchEvent(new Event('keydown'));
    expect(context.resumes).toBe(3);
  });

  it('never resumes a closed context, nor after it was stopped', () => {
    const page = new EventTarget();
    const context = new FakeContext();
    context.state = 'closed';
    const stop = resumeOnGesture(context, page);
    page.dispatchEvent(new Event('pointerdown'));
    expect(context.resumes).toBe(0);
    context.state = 'suspended';
    stop();
    page.dispatchEvent(new Event('pointerdown'));
    expect(context.resumes).toBe(0);
  });

  it('does not throw when the browser refuses to resume', async () => {
    const page = new EventTarget();
    const context = { state: 'suspended', resume: () => Promise.reject(new Error('NotAllowedError')) };
    resumeOnGesture(context, page);
    expect(() => page.dispatchEvent(new Event('keydown'))).not.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 0));
  });
});
