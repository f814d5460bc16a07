import { useEffect, useRef } from 'preact/hooks';

/**
 * A modal on the platform's <dialog>: opened on mount, focus back to where it
 * was on unmount. `close` tells the owner once, and only while mounted: a
 * native `close` event that arrives after the owner has already closed this
 * dialog (Escape fires `cancel`, then `close` a task later) must not close the
 * next one the user has opened in the meantime.
 */
export function useModal(onClose: () => void) {
  const ref = useRef<HTMLDialogElement>(null);
  const live = useRef(true);
  useEffect(() => {
    live.current = true;
    const opener = document.activeElement as HTMLElement | null;
    const d = ref.current!;
    d.showModal();
    return () => {
      live.current = false;
      if (d.open) d.close();
      opener?.focus();
    };
  }, []);
  const close = () => {
    if (!live.current) return;
    live.current = false;
    onClose();
  };
  return { ref, close };
}
