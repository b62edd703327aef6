import { type FormEvent, useState } from 'react';
import { ApiError, CLOUD_NAMES, CLOUDS, type Cloud, type StoredCredentials, api } from '../api';
import { useLoad } from '../useLoad';
import { ErrorBox, Field, when } from '../ui';

/** The fields of each cloud's credentials, as the API takes them (`credentials` of POST /v1/cloud-credentials). */
const FIELDS: Record<Exclude<Cloud, 'gcp'>, { key: string; label: string; secret?: boolean }[]> = {
  aws: [{ key: 'accessKeyId', label: 'Access key ID' }, { key: 'secretAccessKey', label: 'Secret access key', secret: true }],
  azure: [
    { key: 'tenantId', label: 'Tenant ID' }, { key: 'clientId', label: 'Client (application) ID' },
    { key: 'clientSecret', label: 'Client secret', secret: true }, { key: 'subscriptionId', label: 'Subscription ID' },
  ],
  digitalocean: [{ key: 'token', label: 'Personal access token', secret: true }],
};

/**
 * One cloud's credentials form: checked by the API against the cloud before they are stored (sealed), never shown
 * again; with a set stored, the form replaces it (PUT: rotation).
 */
function CloudForm({ cloud, stored, onSaved }: { cloud: Cloud; stored?: StoredCredentials; onSaved: () => Promise<void> }) {
  const [values, setValues] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<string>();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setSaved(undefined);
    let credentials: Record<string, unknown>;
    if (cloud === 'gcp') {
      try {
        credentials = JSON.parse(values.keyFile ?? '') as Record<string, unknown>;
      } catch {
        setError(new ApiError(0, 'Not a key file', 'paste the service account key file (JSON) as Google Cloud gave it', [], undefined));
        return;
      }
    } else credentials = Object.fromEntries(FIELDS[cloud].map((f) => [f.key, (values[f.key] ?? '').trim()]));
    setBusy(true);
    try {
      const body = { cloud, credentials, ...(values.name ? { name: values.name } : {}) };
      if (stored) await api('PUT', `/v1/cloud-credentials/${stored.id}`, body);
      else await api('POST', '/v1/cloud-credentials', body);
      // the secret leaves the page: it is never shown again
      setValues({});
      setSaved(stored ? 'Replaced: the new credentials were accepted by the cloud.' : 'Saved: the cloud accepted the credentials.');
      await onSaved();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    if (!stored || !window.confirm(`Delete the ${CLOUD_NAMES[cloud]} credentials?`)) return;
    setError(undefined);
    try {
      await api('DELETE', `/v1/cloud-credentials/${stored.id}`);
      await onSaved();
    } catch (err) {
      setError(err);
    }
  };
  const set = (k: string, v: string) => setValues((o) => ({ ...o, [k]: v }));

  return (
    <section className="card" aria-labelledby={`cred-${cloud}`}>
      <h2 id={`cred-${cloud}`}>{CLOUD_NAMES[cloud]}</h2>
      {stored ? (
        <p>Stored: <strong>{stored.name}</strong> ({stored.identity}), added {when(stored.createdAt)}. The secret is not shown again; enter new credentials to rotate them.</p>
      ) : <p>No credentials stored.</p>}
      <form onSubmit={(e) => void submit(e)} aria-label={`${CLOUD_NAMES[cloud]} credentials`}>
        {cloud === 'gcp' ? (
          <Field label="Service account key file (JSON)" hint="Paste the whole key file">
            {(id, hint) => <textarea id={id} required rows={5} spellCheck={false} autoComplete="off" aria-describedby={hint} value={values.keyFile ?? ''} onChange={(e) => set('keyFile', e.target.value)} />}
          </Field>
        ) : FIELDS[cloud].map((f) => (
          <Field key={f.key} label={f.label}>
            {(id) => <input id={id} required type={f.secret ? 'password' : 'text'} autoComplete="off" spellCheck={false} value={values[f.key] ?? ''} onChange={(e) => set(f.key, e.target.value)} />}
          </Field>
        ))}
        <Field label="Name (optional)">{(id) => <input id={id} maxLength={64} value={values.name ?? ''} onChange={(e) => set('name', e.target.value)} />}</Field>
        <ErrorBox error={error} />
        {saved && <p className="ok" role="status">{saved}</p>}
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>{stored ? 'Rotate credentials' : 'Check and save'}</button>
          {stored && <button type="button" className="danger" onClick={() => void remove()}>Delete</button>}
        </div>
      </form>
    </section>
  );
}

/** Cloud credentials: one form per cloud. */
export function Credentials() {
  const { data, error, reload } = useLoad(() => api<{ items: StoredCredentials[] }>('GET', '/v1/cloud-credentials'));
  if (error) return <ErrorBox error={error} />;
  if (!data) return <p aria-live="polite">Loading…</p>;
  return (
    <>
      <p>Credentials are checked against the cloud before they are stored, sealed, and never shown again.</p>
      <div className="grid">
        {CLOUDS.map((c) => <CloudForm key={c} cloud={c} stored={data.items.find((s) => s.cloud === c)} onSaved={reload} />)}
      </div>
    </>
  );
}
