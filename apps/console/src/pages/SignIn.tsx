import { type FormEvent, useState } from 'react';
import { type SignInMethods, api } from '../api';
import { ErrorBox, Field } from '../ui';

/**
 * Sign-in: "Sign in with OIDC" when the installation has a provider, the local account form when it allows local
 * accounts, and the first user's sign-up while the installation has no user yet.
 */
export function SignIn({ methods, onSignedIn }: { methods: SignInMethods; onSignedIn: () => Promise<void> }) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [organisationName, setOrganisationName] = useState('');
  const [signingUp, setSigningUp] = useState(methods.firstUserSignup);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      if (signingUp) await api('POST', '/v1/auth/local/signup', { email, password, organisationName });
      else await api('POST', '/v1/auth/local/login', { email, password });
      setPassword('');
      await onSignedIn();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="narrow">
      {methods.oidc && (
        <section aria-labelledby="oidc-h">
          <h2 id="oidc-h">Single sign-on</h2>
          {/* a full-page navigation: the API redirects to the provider and back */}
          <a className="button primary" href="/v1/auth/oidc/login">Sign in with OIDC</a>
        </section>
      )}
      {methods.localAccounts && (
        <section aria-labelledby="local-h">
          <h2 id="local-h">{signingUp ? 'Create the first account' : 'Sign in with email'}</h2>
          {signingUp && <p>This installation has no user yet: the first account creates the organisation and owns it.</p>}
          <form onSubmit={(e) => void submit(e)}>
            <Field label="Email">{(id) => <input id={id} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />}</Field>
            <Field label="Password" hint={signingUp ? 'At least 12 characters' : undefined}>
              {(id, hint) => <input id={id} type="password" autoComplete={signingUp ? 'new-password' : 'current-password'} required minLength={signingUp ? 12 : 1} aria-describedby={hint} value={password} onChange={(e) => setPassword(e.target.value)} />}
            </Field>
            {signingUp && (
              <Field label="Organisation name">{(id) => <input id={id} required value={organisationName} onChange={(e) => setOrganisationName(e.target.value)} />}</Field>
            )}
            <ErrorBox error={error} />
            <button type="submit" className="primary" disabled={busy}>{signingUp ? 'Create account' : 'Sign in'}</button>
            {methods.firstUserSignup && (
              <button type="button" className="link" onClick={() => setSigningUp(!signingUp)}>{signingUp ? 'I have an account: sign in' : 'Create the first account'}</button>
            )}
          </form>
        </section>
      )}
      {!methods.oidc && !methods.localAccounts && (
        <p className="error" role="alert">This installation has no sign-in method configured (SKYWEAVE_OIDC_* or SKYWEAVE_LOCAL_ACCOUNTS): use the CLI with an API key.</p>
      )}
    </div>
  );
}
