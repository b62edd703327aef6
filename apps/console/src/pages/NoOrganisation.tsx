import { type FormEvent, useState } from 'react';
import { type Me, api } from '../api';
import { ErrorBox, Field } from '../ui';

/** A signed-in user in no organisation yet: accepts the invitation token an owner gave them. */
export function NoOrganisation({ me, onJoined }: { me: Me; onJoined: () => Promise<void> }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const accept = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api('POST', `/v1/invitations/${encodeURIComponent(token.trim())}/accept`);
      setToken('');
      await onJoined();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="narrow">
      <p>You are signed in as <strong>{me.user?.email}</strong>, but you belong to no organisation yet. Ask an owner for an invitation, then paste its token here.</p>
      <form onSubmit={(e) => void accept(e)}>
        <Field label="Invitation token" hint="Starts with swi_">
          {(id, hint) => <input id={id} required autoComplete="off" spellCheck={false} aria-describedby={hint} value={token} onChange={(e) => setToken(e.target.value)} />}
        </Field>
        <ErrorBox error={error} />
        <button type="submit" className="primary" disabled={busy}>Accept invitation</button>
      </form>
    </div>
  );
}
