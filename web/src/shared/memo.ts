// Preact's core has no `memo` (it lives in preact/compat, which is much
// larger): this one skips re-rendering a component whose props are all the
// same (===) as last time. The dashboard re-renders on every live message;
// its panels need to only when their own data changed.
import { Component, type ComponentChildren, type FunctionComponent, h } from 'preact';

function sameProps(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.is(a[k], b[k]));
}

export function memo<P extends object>(render: FunctionComponent<P>): FunctionComponent<P> {
  class Memo extends Component<P & { children?: ComponentChildren }> {
    override shouldComponentUpdate(next: P): boolean {
      return !sameProps(this.props as Record<string, unknown>, next as Record<string, unknown>);
    }
    override render(props: P) {
      return h(render, props);
    }
  }
  return Memo as unknown as FunctionComponent<P>;
}
