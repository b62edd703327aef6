import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react';
import { CLOUD_NAMES, type Cloud, type Cluster, type ClusterEvent, api, request } from '../api';
import { useLoad } from '../useLoad';
import { ErrorBox, TableScroll, Field, Phase, when } from '../ui';

/** Events kept on the page (the newest). */
const MAX_EVENTS = 200;
type Live = 'connecting' | 'live' | 'reconnecting';

/**
 * The cluster's live events (`GET /v1/clusters/{id}/events/stream`, server-sent events): EventSource reconnects by
 * itself with Last-Event-ID. `onEvent` runs for each new event.
 */
function useClusterEvents(id: string, onEvent: () => void): { events: ClusterEvent[]; live: Live } {
  const [events, setEvents] = useState<ClusterEvent[]>([]);
  const [live, setLive] = useState<Live>('connecting');
  const callback = useRef(onEvent);
  callback.current = onEvent;
  useEffect(() => {
    // ids seen: a reconnect resumes after Last-Event-ID, but an event is never counted twice
    const seen = new Set<string>();
    const source = new EventSource(`/v1/clusters/${id}/events/stream`);
    source.onopen = () => setLive('live');
    source.onerror = () => setLive('reconnecting');
    source.addEventListener('cluster-event', (m: MessageEvent<string>) => {
      const e = JSON.parse(m.data) as ClusterEvent;
      if (seen.has(e.id)) return;
      seen.add(e.id);
      setEvents((old) => [...old, e].slice(-MAX_EVENTS));
      callback.current();
    });
    return () => source.close();
  }, [id]);
  return { events, live };
}

/** Re-reads the cluster when events arrive: one request at a time, and one more if events came meanwhile. */
function useCoalesced(reload: () => Promise<void>): () => void {
  const running = useRef(false);
  const again = useRef(false);
  return useCallback(() => {
    if (running.current) {
      again.current = true;
      return;
    }
    running.current = true;
    void (async () => {
      do {
        again.current = false;
        await reload();
      } while (again.current);
      running.current = false;
    })();
  }, [reload]);
}

/** The cluster: phase, conditions, networks, nodes (add, remove), live events, kubeconfig, reconcile, delete. */
export function ClusterPage({ id }: { id: string }) {
  const { data: c, error: loadError, reload } = useLoad(() => api<Cluster>('GET', `/v1/clusters/${id}`));
  const refresh = useCoalesced(reload);
  const { events, live } = useClusterEvents(id, refresh);
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState<string>();
  const [addCloud, setAddCloud] = useState<Cloud | ''>('');
  const [addCount, setAddCount] = useState(1);
  const [confirmName, setConfirmName] = useState('');

  if (loadError && !c) return <ErrorBox error={loadError} />;
  if (!c) return <p aria-live="polite">Loading…</p>;

  const act = async (what: () => Promise<string>) => {
    setError(undefined);
    setNotice(undefined);
    try {
      setNotice(await what());
      refresh();
    } catch (e) {
      setError(e);
    }
  };
  const addNodes = (e: FormEvent) => {
    e.preventDefault();
    const cloud = addCloud || c.spec.clouds[0];
    void act(async () => {
      await api('POST', `/v1/clusters/${id}/nodes`, { cloud, count: addCount });
      return `Adding ${addCount} ${CLOUD_NAMES[cloud]} worker(s)`;
    });
  };
  const removeNode = (nodeId: string, name: string) => {
    if (!window.confirm(`Remove worker ${name}? It is drained first.`)) return;
    void act(async () => {
      await api('DELETE', `/v1/clusters/${id}/nodes/${nodeId}`);
      return `Removing ${name}`;
    });
  };
  const reconcile = () => void act(async () => {
    const r = await api<{ status?: string }>('POST', `/v1/clusters/${id}/reconcile`);
    return r.status === 'running' ? 'A reconcile is running already' : 'Reconcile scheduled';
  });
  const kubeconfig = () => void act(async () => {
    const res = await request('GET', `/v1/clusters/${id}/kubeconfig`);
    const url = URL.createObjectURL(new Blob([await res.text()], { type: 'application/yaml' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `${c.name}.kubeconfig.yaml`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    return 'Kubeconfig downloaded: it holds an admin credential, keep it safe';
  });
  const remove = (e: FormEvent) => {
    e.preventDefault();
    if (confirmName !== c.name) return;
    void act(async () => {
      await api('DELETE', `/v1/clusters/${id}`);
      setConfirmName('');
      return `Deleting ${c.name}: every VM and network is removed`;
    });
  };
  const ready = c.phase === 'Ready';
  // the cluster's middleware through the platform's single sign-on gateway (docs/sso-gateway.md): once installed
  const addons = c.conditions?.some((x) => x.type === 'AddonsInstalled' && x.status === 'True') ?? false;

  return (
    <>
      <div className="cluster-head">
        <h2 className="cluster-name">{c.name}</h2>
        <Phase phase={c.phase} />
        <span className={`live live-${live}`} role="status">{live === 'live' ? 'Live events' : live === 'connecting' ? 'Connecting…' : 'Reconnecting…'}</span>
      </div>
      <p>{c.spec.region} · {c.spec.clouds.map((x) => CLOUD_NAMES[x]).join(', ')} · Kubernetes {c.spec.kubernetesVersion ?? '—'} · created {when(c.createdAt)}</p>
      <div className="actions">
        <button type="button" onClick={kubeconfig} disabled={!ready} aria-describedby={ready ? undefined : 'kc-hint'}>Download kubeconfig</button>
        <button type="button" onClick={reconcile}>Reconcile now</button>
        {addons && <a className="button" href={`/clusters/${encodeURIComponent(c.id)}/grafana/`} target="_blank" rel="noopener">Grafana</a>}
        {addons && <a className="button" href={`/clusters/${encodeURIComponent(c.id)}/dashboard/`} target="_blank" rel="noopener">Kubernetes dashboard</a>}
      </div>
      {!ready && <small id="kc-hint">The kubeconfig is available once the cluster is Ready.</small>}
      {c.reconcile.reconciling && <p className="warning" role="status">A full reconcile is running: changes (nodes, delete) are refused until it ends.</p>}
      {notice && <p className="ok" role="status">{notice}</p>}
      <ErrorBox error={error} />

      <section aria-labelledby="conditions-h">
        <h2 id="conditions-h">Conditions</h2>
        {!c.conditions || c.conditions.length === 0 ? <p className="empty">No conditions reported yet.</p> : (
          <TableScroll label="Conditions">
            <table>
              <thead><tr><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Reason</th><th scope="col">Message</th></tr></thead>
              <tbody>{c.conditions.map((x) => <tr key={x.type}><td>{x.type}</td><td>{x.status}</td><td>{x.reason ?? ''}</td><td>{x.message ?? ''}</td></tr>)}</tbody>
            </table>
          </TableScroll>
        )}
      </section>

      <section aria-labelledby="networks-h">
        <h2 id="networks-h">Networks</h2>
        {c.networks.length === 0 ? <p className="empty">No networks yet.</p> : (
          <TableScroll label="Networks">
            <table>
              <thead><tr><th scope="col">Cloud</th><th scope="col">Phase</th><th scope="col">Region</th><th scope="col">VPC</th><th scope="col">Message</th></tr></thead>
              <tbody>{c.networks.map((n) => <tr key={n.cloud}><td>{CLOUD_NAMES[n.cloud]}</td><td><Phase phase={n.phase} /></td><td>{n.region ?? ''}</td><td>{n.vpcCidr ?? ''}</td><td>{n.message ?? ''}</td></tr>)}</tbody>
            </table>
          </TableScroll>
        )}
      </section>

      <section aria-labelledby="nodes-h">
        <h2 id="nodes-h">Nodes</h2>
        {c.nodes.length === 0 ? <p className="empty">No nodes yet.</p> : (
          <TableScroll label="Nodes">
            <table data-testid="nodes">
              <thead><tr><th scope="col">Name</th><th scope="col">Cloud</th><th scope="col">Role</th><th scope="col">Phase</th><th scope="col">Type</th><th scope="col">IP</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
              <tbody>
                {c.nodes.map((n) => (
                  <tr key={n.id}>
                    <td>{n.name}</td><td>{CLOUD_NAMES[n.cloud]}</td><td>{n.role}</td><td><Phase phase={n.removalRequested && n.phase !== 'Terminated' ? 'Removing' : n.phase} /></td>
                    <td>{n.instanceType}</td><td>{n.publicIp ?? n.privateIp ?? ''}</td>
                    <td>{n.role === 'worker' && !n.removalRequested && n.phase !== 'Terminated' && n.phase !== 'Terminating' && c.phase !== 'Deleting' && (
                      <button type="button" className="danger" onClick={() => removeNode(n.id, n.name)} aria-label={`Remove ${n.name}`}>Remove</button>
                    )}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
        <form className="inline" onSubmit={addNodes} aria-label="Add workers">
          <Field label="Cloud">
            {(fid) => (
              <select id={fid} value={addCloud || c.spec.clouds[0]} onChange={(e) => setAddCloud(e.target.value as Cloud)}>
                {c.spec.clouds.map((x) => <option key={x} value={x}>{CLOUD_NAMES[x]}</option>)}
              </select>
            )}
          </Field>
          <Field label="Workers to add">{(fid) => <input id={fid} type="number" min={1} max={20} value={addCount} onChange={(e) => setAddCount(Math.max(1, Math.min(20, Number(e.target.value) || 1)))} />}</Field>
          <button type="submit" className="primary">Add workers</button>
        </form>
      </section>

      <section aria-labelledby="events-h">
        <h2 id="events-h">Events</h2>
        {events.length === 0 ? <p className="empty">No events yet.</p> : (
          <ol className="events" aria-live="polite" aria-relevant="additions" aria-label="Cluster events, newest first" tabIndex={0}>
            {[...events].reverse().map((e) => (
              <li key={e.id} className={e.type === 'Warning' ? 'warning' : undefined}>
                <time dateTime={e.createdAt}>{new Date(e.createdAt).toLocaleTimeString()}</time> <strong>{e.reason}</strong> {e.message}
              </li>
            ))}
          </ol>
        )}
      </section>

      <section aria-labelledby="delete-h" className="card danger-zone">
        <h2 id="delete-h">Delete cluster</h2>
        <p>Every VM and network of the cluster is removed. This cannot be undone.</p>
        <form onSubmit={remove}>
          <Field label={`Type the cluster's name (${c.name}) to confirm`}>
            {(fid) => <input id={fid} autoComplete="off" spellCheck={false} value={confirmName} onChange={(e) => setConfirmName(e.target.value)} />}
          </Field>
          <button type="submit" className="danger" disabled={confirmName !== c.name}>Delete {c.name}</button>
        </form>
      </section>
    </>
  );
}
