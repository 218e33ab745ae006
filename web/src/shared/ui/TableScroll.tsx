// A table that scrolls sideways on a narrow screen. The scrolling box is
// focusable (keyboard users can scroll it) and named; it is a group, not a
// region, so it adds no landmark beside the panel's own.
import type { ComponentChildren } from 'preact';

export function TableScroll({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-scroll" role="group" aria-label={`${label} table`} tabIndex={0}>
      {children}
    </div>
  );
}
