import { type FormEvent, useState } from 'react';
import { type Invitation, type InvitationCreated, type Me, type Member, ROLES, type Role, api } from '../api';
import { useLoad } from '../useLoad';
import { ErrorBox, TableScroll, Field, ShownOnce, when } from '../ui';

/** The organisation's members and roles, and its invitations (changes: owners; the API refuses others). */
export function Members({ me }: { me: Me }) {
  const members = useLoad(() => api<{ items: Member[] }>('GET', '/v1/members'));
  const invitations = useLoad(() => api<{ items: Invitation[] }>('GET', '/v1/invitations'));
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('member');
  const [created, setCreated] = useState<InvitationCreated>();
  const [error, setError] = useState<unknown>();

  const act = async (f: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await f();
    } catch (err) {
      setError(err);
    }
  };
  const invite = (e: FormEvent) => {
    e.preventDefault();
    void act(async () => {
      setCreated(await api<InvitationCreated>('POST', '/v1/invitations', { email, role }));
      setEmail('');
      await invitations.reload();
    });
  };
  const setMemberRole = (m: Member, r: Role) => void act(async () => {
    await api('PATCH', `/v1/members/${m.userId}`, { role: r });
    await members.reload();
  });
  const remove = (m: Member) => {
    if (!window.confirm(`Remove ${m.email} from the organisation?`)) return;
    void act(async () => {
      await api('DELETE', `/v1/members/${m.userId}`);
      await members.reload();
    });
  };

  return (
    <>
      <ErrorBox error={error} />
      <section aria-labelledby="members-h">
        <h2 id="members-h">Members</h2>
        <ErrorBox error={members.error} />
        {members.data && (
          <TableScroll label="Members">
            <table>
              <thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Since</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
              <tbody>
                {members.data.items.map((m) => (
                  <tr key={m.userId}>
                    <td>{m.email}{m.userId === me.user?.id ? ' (you)' : ''}</td>
                    <td>
                      <select aria-label={`Role of ${m.email}`} value={m.role} onChange={(e) => setMemberRole(m, e.target.value as Role)}>
                        {ROLES.map((r) => <option key={r}>{r}</option>)}
                      </select>
                    </td>
                    <td>{when(m.createdAt)}</td>
                    <td><button type="button" className="danger" onClick={() => remove(m)} aria-label={`Remove ${m.email}`}>Remove</button></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </section>
      <section aria-labelledby="invite-h">
        <h2 id="invite-h">Invite someone</h2>
        <form className="inline" onSubmit={invite}>
          <Field label="Email">{(id) => <input id={id} type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />}</Field>
          <Field label="Role">{(id) => <select id={id} value={role} onChange={(e) => setRole(e.target.value as Role)}>{ROLES.map((r) => <option key={r}>{r}</option>)}</select>}</Field>
          <button type="submit" className="primary">Invite</button>
        </form>
        {created && <ShownOnce label={`Invitation token for ${created.email}`} value={created.token} onDone={() => setCreated(undefined)} />}
      </section>
      <section aria-labelledby="invitations-h">
        <h2 id="invitations-h">Invitations</h2>
        <ErrorBox error={invitations.error} />
        {invitations.data && invitations.data.items.length === 0 && <p className="empty">No invitations.</p>}
        {invitations.data && invitations.data.items.length > 0 && (
          <TableScroll label="Invitations">
            <table>
              <thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Expires</th><th scope="col">Accepted</th></tr></thead>
              <tbody>
                {invitations.data.items.map((i) => (
                  <tr key={i.id}><td>{i.email}</td><td>{i.role}</td><td>{when(i.expiresAt)}</td><td>{i.acceptedAt ? when(i.acceptedAt) : 'not yet'}</td></tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </section>
    </>
  );
}
