import { type FormEvent, useState } from 'react';
import { type ApiKey, type ApiKeyCreated, ROLES, type Role, api } from '../api';
import { useLoad } from '../useLoad';
import { ErrorBox, TableScroll, Field, ShownOnce, when } from '../ui';

/** API keys for scripts and the CLI: made (the secret shown once) and revoked by owners. */
export function ApiKeys() {
  const { data, error: loadError, reload } = useLoad(() => api<{ items: ApiKey[] }>('GET', '/v1/api-keys'));
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('member');
  const [created, setCreated] = useState<ApiKeyCreated>();
  const [error, setError] = useState<unknown>();

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      setCreated(await api<ApiKeyCreated>('POST', '/v1/api-keys', { name, role }));
      setName('');
      await reload();
    } catch (err) {
      setError(err);
    }
  };
  const revoke = async (k: ApiKey) => {
    if (!window.confirm(`Revoke the API key "${k.name}"? Scripts using it stop working at once.`)) return;
    setError(undefined);
    try {
      await api('DELETE', `/v1/api-keys/${k.id}`);
      await reload();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <>
      <section aria-labelledby="new-key-h">
        <h2 id="new-key-h">New API key</h2>
        <form className="inline" onSubmit={(e) => void create(e)}>
          <Field label="Name">{(id) => <input id={id} required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />}</Field>
          <Field label="Role">{(id) => <select id={id} value={role} onChange={(e) => setRole(e.target.value as Role)}>{ROLES.map((r) => <option key={r}>{r}</option>)}</select>}</Field>
          <button type="submit" className="primary">Create key</button>
        </form>
        {created && <ShownOnce label={`API key ${created.name}`} value={created.key} onDone={() => setCreated(undefined)} />}
        <ErrorBox error={error} />
      </section>
      <section aria-labelledby="keys-h">
        <h2 id="keys-h">Keys</h2>
        <ErrorBox error={loadError} />
        {data && data.items.length === 0 && <p className="empty">No API keys yet.</p>}
        {data && data.items.length > 0 && (
          <TableScroll label="API keys">
            <table>
              <thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Created</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
              <tbody>
                {data.items.map((k) => (
                  <tr key={k.id}>
                    <td>{k.name}</td><td>{k.role}</td><td>{when(k.createdAt)}</td>
                    <td><button type="button" className="danger" onClick={() => void revoke(k)} aria-label={`Revoke ${k.name}`}>Revoke</button></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </section>
    </>
  );
}
