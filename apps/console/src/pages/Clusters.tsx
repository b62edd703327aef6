import { type ClusterSummary, CLOUD_NAMES, api } from '../api';
import { useLoad } from '../useLoad';
import { ErrorBox, TableScroll, Link, Phase, when } from '../ui';

/** The organisation's clusters, or how to make the first. */
export function Clusters() {
  const { data, error } = useLoad(() => api<{ items: ClusterSummary[] }>('GET', '/v1/clusters'));
  if (error) return <ErrorBox error={error} />;
  if (!data) return <p aria-live="polite">Loading…</p>;
  if (data.items.length === 0) {
    return (
      <div className="empty">
        <p>No clusters yet.</p>
        <p>Add <Link to="/credentials">cloud credentials</Link> for the clouds you want, then <Link to="/clusters/new">create a cluster</Link>.</p>
      </div>
    );
  }
  return (
    <TableScroll label="Clusters">
      <table>
        <caption className="sr-only">Clusters</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Phase</th><th scope="col">Region</th><th scope="col">Clouds</th><th scope="col">Created</th></tr></thead>
        <tbody>
          {data.items.map((c) => (
            <tr key={c.id}>
              <td><Link to={`/clusters/${c.id}`}>{c.name}</Link></td>
              <td><Phase phase={c.phase} /></td>
              <td>{c.region}</td>
              <td>{c.clouds.map((x) => CLOUD_NAMES[x]).join(', ')}</td>
              <td>{when(c.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  );
}
