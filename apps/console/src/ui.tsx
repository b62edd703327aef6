import { type MouseEvent, type ReactNode, useId } from 'react';
import { ApiError } from './api';
import { BASE, navigate } from './router';

/** A link to a console page: a real `<a href>` (open in a new tab works), navigated in place on a plain click. */
export function Link({ to, children, className, current }: { to: string; children: ReactNode; className?: string; current?: boolean }) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return <a href={BASE + to} onClick={onClick} className={className} aria-current={current ? 'page' : undefined}>{children}</a>;
}

/** What the API said when it refused: the problem's title, detail and each field's error. */
export function ErrorBox({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  const e = error instanceof ApiError ? error : undefined;
  return (
    <div className="error" role="alert">
      <strong>{e ? e.title : 'Something went wrong'}</strong>
      {e?.detail && <p>{e.detail}</p>}
      {!e && <p>{error instanceof Error ? error.message : String(error)}</p>}
      {e && e.errors.length > 0 && (
        <ul>{e.errors.map((f, i) => <li key={i}><code>{f.field}</code>: {f.message}</li>)}</ul>
      )}
    </div>
  );
}

/** A labelled form field. */
export function Field({ label, children, hint }: { label: string; hint?: string; children: (id: string, hintId?: string) => ReactNode }) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children(id, hintId)}
      {hint && <small id={hintId}>{hint}</small>}
    </div>
  );
}

/** A secret shown once (a new API key or invitation token): it is not kept anywhere, so copy it now. */
export function ShownOnce({ label, value, onDone }: { label: string; value: string; onDone: () => void }) {
  return (
    <div className="notice" role="status">
      <p><strong>{label}</strong> — shown once: copy it now; it cannot be shown again.</p>
      <pre className="secret" data-testid="secret">{value}</pre>
      <button type="button" onClick={onDone}>I have copied it</button>
    </div>
  );
}

/** Money as the plan gives it (USD), or "unknown" when a price list could not be read. */
export function usd(v: number | null | undefined, digits = 4): string {
  return v === null || v === undefined ? 'unknown' : `$${v.toFixed(digits)}`;
}

export function when(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '—';
}

/** A phase as a small badge (text, not colour alone). */
export function Phase({ phase }: { phase: string }) {
  return <span className={`phase phase-${phase.toLowerCase()}`}>{phase}</span>;
}

/**
 * A table's box, scrolling sideways on narrow screens: focusable and named, so keyboard users can scroll it too.
 */
export function TableScroll({ label, children }: { label: string; children: ReactNode }) {
  return <div className="table-wrap" tabIndex={0} role="region" aria-label={`${label} table`}>{children}</div>;
}
