import { useCallback, useEffect, useState } from 'react';
import { ApiError, type Me, type SignInMethods, api } from './api';
import { navigate, usePath } from './router';
import { ErrorBox, Link } from './ui';
import { SignIn } from './pages/SignIn';
import { NoOrganisation } from './pages/NoOrganisation';
import { Clusters } from './pages/Clusters';
import { NewCluster } from './pages/NewCluster';
import { ClusterPage } from './pages/Cluster';
import { Credentials } from './pages/Credentials';
import { Members } from './pages/Members';
import { ApiKeys } from './pages/ApiKeys';

type Session = { state: 'loading' } | { state: 'signed-out'; methods: SignInMethods } | { state: 'signed-in'; me: Me } | { state: 'error'; error: unknown };

const NAV: { to: string; label: string }[] = [
  { to: '/', label: 'Clusters' },
  { to: '/clusters/new', label: 'New cluster' },
  { to: '/credentials', label: 'Cloud credentials' },
  { to: '/members', label: 'Members' },
  { to: '/api-keys', label: 'API keys' },
];

/** The console: who is signed in (`GET /v1/me`), then the page of the path. */
export function App() {
  const [session, setSession] = useState<Session>({ state: 'loading' });
  const path = usePath();

  const load = useCallback(async () => {
    try {
      setSession({ state: 'signed-in', me: await api<Me>('GET', '/v1/me') });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        try {
          setSession({ state: 'signed-out', methods: await api<SignInMethods>('GET', '/v1/auth/methods') });
        } catch (e2) {
          setSession({ state: 'error', error: e2 });
        }
      } else setSession({ state: 'error', error: e });
    }
  }, []);
  useEffect(() => void load(), [load]);

  const signOut = async () => {
    await api('POST', '/v1/auth/logout').catch(() => undefined);
    navigate('/');
    await load();
  };

  let content;
  let title = 'Skyweave';
  if (session.state === 'loading') content = <p aria-live="polite">Loading…</p>;
  else if (session.state === 'error') content = <ErrorBox error={session.error} />;
  else if (session.state === 'signed-out') {
    title = 'Sign in';
    content = <SignIn methods={session.methods} onSignedIn={load} />;
  } else if (!session.me.organisationId) {
    title = 'Join an organisation';
    content = <NoOrganisation me={session.me} onJoined={load} />;
  } else {
    const m = /^\/clusters\/([0-9a-f-]{36})\/?$/.exec(path);
    if (path === '/' || path === '') [title, content] = ['Clusters', <Clusters />];
    else if (path === '/clusters/new') [title, content] = ['New cluster', <NewCluster />];
    else if (m) [title, content] = ['Cluster', <ClusterPage id={m[1]} />];
    else if (path === '/credentials') [title, content] = ['Cloud credentials', <Credentials />];
    else if (path === '/members') [title, content] = ['Members', <Members me={session.me} />];
    else if (path === '/api-keys') [title, content] = ['API keys', <ApiKeys />];
    else [title, content] = ['Not found', <p>There is no such page. <Link to="/">Go to the clusters</Link>.</p>];
  }
  useEffect(() => { document.title = `${title} · Skyweave`; }, [title]);

  const me = session.state === 'signed-in' ? session.me : undefined;
  const org = me?.memberships?.find((x) => x.organisationId === me.organisationId);
  return (
    <>
      <a className="skip" href="#main">Skip to content</a>
      <header className="top">
        <div className="brand">Skyweave</div>
        {me && (
          <div className="who">
            <span>{me.user?.email ?? 'API key'}{org ? ` · ${org.organisationName}` : ''}{me.role ? ` (${me.role})` : ''}</span>
            <button type="button" className="link" onClick={() => void signOut()}>Sign out</button>
          </div>
        )}
      </header>
      {me?.organisationId && (
        <nav aria-label="Main" className="nav">
          <ul>{NAV.map((n) => <li key={n.to}><Link to={n.to} current={path === n.to}>{n.label}</Link></li>)}</ul>
        </nav>
      )}
      <main id="main" tabIndex={-1}>
        <h1>{title}</h1>
        {content}
      </main>
    </>
  );
}
