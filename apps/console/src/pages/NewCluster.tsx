import { type FormEvent, useEffect, useState } from 'react';
import { CLOUD_NAMES, type Cloud, type ClusterRequest, type Plan, type Regions, api } from '../api';
import { navigate } from '../router';
import { useLoad } from '../useLoad';
import { ErrorBox, TableScroll, Field, usd } from '../ui';

const STEPS = ['Region', 'Clouds', 'Control plane', 'Workers'] as const;

/** What a draft's clouds' round trips are in the region: the pairs and whether any is above the budget. */
function latencies(regions: Regions, regionId: string, clouds: Cloud[]): { pair: string; ms: number | undefined }[] {
  const r = regions.items.find((x) => x.id === regionId);
  const out: { pair: string; ms: number | undefined }[] = [];
  for (let i = 0; i < clouds.length; i++) {
    for (let j = i + 1; j < clouds.length; j++) {
      const ms = r?.crossCloudLatencyMs[`${clouds[i]}|${clouds[j]}`] ?? r?.crossCloudLatencyMs[`${clouds[j]}|${clouds[i]}`];
      out.push({ pair: `${CLOUD_NAMES[clouds[i]]} – ${CLOUD_NAMES[clouds[j]]}`, ms });
    }
  }
  return out;
}

/** The plan beside the wizard: what create would build, its hourly and monthly cost, and the API's warnings. */
function PlanPanel({ plan, error, busy }: { plan?: Plan; error: unknown; busy: boolean }) {
  return (
    <aside className="plan card" aria-labelledby="plan-h" aria-busy={busy}>
      <h2 id="plan-h">Plan and cost</h2>
      {busy && <p aria-live="polite">Planning…</p>}
      <ErrorBox error={error} />
      {!plan && !error && !busy && <p>Choose a region and clouds to see the plan.</p>}
      {plan && (
        <>
          <p className="total" data-testid="plan-cost">
            <span>{usd(plan.cost.usdPerHour)} / hour</span> · <span>{usd(plan.cost.usdPerMonth, 2)} / month</span>
          </p>
          <p>{plan.region.name}; worst cross-cloud latency {plan.latency.worst ? `${plan.latency.worst.ms} ms (${plan.latency.worst.pair.split('|').map((c) => CLOUD_NAMES[c as Cloud] ?? c).join(' – ')})` : 'none (one cloud)'}, budget {plan.latency.budgetMs} ms.</p>
          {plan.warnings.length > 0 && (
            <ul className="warnings" aria-label="Warnings">{plan.warnings.map((w, i) => <li key={i}><strong>Warning:</strong> {w.message}</li>)}</ul>
          )}
          <TableScroll label="Cost per cloud">
            <table>
              <caption>Per cloud</caption>
              <thead><tr><th scope="col">Cloud</th><th scope="col">Region</th><th scope="col">Nodes</th><th scope="col">Per hour</th><th scope="col">Per month</th></tr></thead>
              <tbody>
                {plan.clouds.map((c) => (
                  <tr key={c.cloud}>
                    <td>{CLOUD_NAMES[c.cloud]}</td>
                    <td>{c.region} ({c.zone}){c.network.vpcCidr ? `, ${c.network.vpcCidr}` : ''}</td>
                    <td>{c.nodes.length === 0 ? 'none' : c.nodes.map((n) => `${n.count}× ${n.role} ${n.instanceType}`).join(', ')}</td>
                    <td>{usd(c.cost.usdPerHour)}</td>
                    <td>{usd(c.cost.usdPerMonth, 2)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        </>
      )}
    </aside>
  );
}

/** The create-cluster wizard: region → clouds → control plane → workers, with `POST /v1/clusters/plan` beside it. */
export function NewCluster() {
  const regions = useLoad(() => api<Regions>('GET', '/v1/regions'));
  const [step, setStep] = useState(0);
  const [draft, setDraft] = useState<ClusterRequest>({ name: '', region: '', clouds: [], controlPlane: { cloud: 'aws', count: 1 }, workers: [] });
  const [plan, setPlan] = useState<Plan>();
  const [planError, setPlanError] = useState<unknown>();
  const [planning, setPlanning] = useState(false);
  const [error, setError] = useState<unknown>();
  const [creating, setCreating] = useState(false);

  useEffect(() => {
    if (!regions.data || draft.region !== '') return;
    const first = regions.data.items[0];
    if (first) setDraft((d) => ({ ...d, region: first.id }));
  }, [regions.data, draft.region]);

  // the plan follows the draft (once it has a cloud), at most one request per pause in typing
  useEffect(() => {
    if (draft.clouds.length === 0 || !draft.name) {
      setPlan(undefined);
      setPlanError(undefined);
      return;
    }
    let cancelled = false;
    const t = setTimeout(() => {
      setPlanning(true);
      api<Plan>('POST', '/v1/clusters/plan', draft)
        .then((p) => { if (!cancelled) { setPlan(p); setPlanError(undefined); } })
        .catch((e: unknown) => { if (!cancelled) { setPlan(undefined); setPlanError(e); } })
        .finally(() => { if (!cancelled) setPlanning(false); });
    }, 300);
    return () => {
      cancelled = true;
      clearTimeout(t);
    };
  }, [draft]);

  if (regions.error) return <ErrorBox error={regions.error} />;
  if (!regions.data) return <p aria-live="polite">Loading…</p>;
  const regionData = regions.data;
  const region = regionData.items.find((r) => r.id === draft.region);
  const pairs = latencies(regionData, draft.region, draft.clouds);
  const over = pairs.filter((p) => p.ms !== undefined && p.ms > regionData.maxCrossCloudLatencyMs);

  const toggleCloud = (c: Cloud, on: boolean) => setDraft((d) => {
    const clouds = on ? [...d.clouds, c] : d.clouds.filter((x) => x !== c);
    const cp = clouds.includes(d.controlPlane.cloud) ? d.controlPlane : { ...d.controlPlane, cloud: clouds[0] ?? 'aws' };
    return { ...d, clouds, controlPlane: cp, workers: d.workers.filter((w) => clouds.includes(w.cloud)) };
  });
  const canNext = step === 0 ? /^[a-z][a-z0-9-]{1,38}[a-z0-9]$/.test(draft.name) && !!region : step === 1 ? draft.clouds.length > 0 : true;

  const create = async (e: FormEvent) => {
    e.preventDefault();
    if (step < STEPS.length - 1) {
      if (canNext) setStep(step + 1);
      return;
    }
    setCreating(true);
    setError(undefined);
    try {
      const c = await api<{ id: string }>('POST', '/v1/clusters', draft);
      navigate(`/clusters/${c.id}`);
    } catch (err) {
      setError(err);
      setCreating(false);
    }
  };

  return (
    <div className="wizard">
      <form className="card" onSubmit={(e) => void create(e)} aria-labelledby="step-h">
        <ol className="steps" aria-label="Steps">
          {STEPS.map((s, i) => <li key={s} aria-current={i === step ? 'step' : undefined} className={i === step ? 'current' : i < step ? 'done' : undefined}>{s}</li>)}
        </ol>
        <h2 id="step-h">Step {step + 1} of {STEPS.length}: {STEPS[step]}</h2>
        {step === 0 && (
          <>
            <Field label="Cluster name" hint="3–40 lowercase letters, digits or dashes, starting with a letter">
              {(id, hint) => <input id={id} required pattern="[a-z][a-z0-9\-]{1,38}[a-z0-9]" aria-describedby={hint} value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} />}
            </Field>
            <Field label="Region">
              {(id) => (
                <select id={id} value={draft.region} onChange={(e) => setDraft({ ...draft, region: e.target.value, clouds: [], workers: [] })}>
                  {regionData.items.map((r) => <option key={r.id} value={r.id}>{r.name} ({r.id})</option>)}
                </select>
              )}
            </Field>
          </>
        )}
        {step === 1 && (
          <fieldset>
            <legend>Clouds in {region?.name}</legend>
            {region?.availableOn.map((c) => (
              <label key={c} className="check">
                <input type="checkbox" checked={draft.clouds.includes(c)} onChange={(e) => toggleCloud(c, e.target.checked)} /> {CLOUD_NAMES[c]}
              </label>
            ))}
            {pairs.length > 0 && (
              <ul className="latency" aria-label="Cross-cloud latency">
                {pairs.map((p) => <li key={p.pair}>{p.pair}: {p.ms === undefined ? 'unknown' : `${p.ms} ms`}</li>)}
              </ul>
            )}
            {over.length > 0 && <p className="warning" role="alert">Latency warning: {over.map((p) => p.pair).join(', ')} above the {regionData.maxCrossCloudLatencyMs} ms budget; the API will refuse this cluster.</p>}
          </fieldset>
        )}
        {step === 2 && (
          <>
            <Field label="Control plane cloud">
              {(id) => (
                <select id={id} value={draft.controlPlane.cloud} onChange={(e) => setDraft({ ...draft, controlPlane: { ...draft.controlPlane, cloud: e.target.value as Cloud } })}>
                  {draft.clouds.map((c) => <option key={c} value={c}>{CLOUD_NAMES[c]}</option>)}
                </select>
              )}
            </Field>
            <Field label="Masters" hint="1, or 3 for an etcd quorum that survives one loss">
              {(id, hint) => (
                <select id={id} aria-describedby={hint} value={draft.controlPlane.count} onChange={(e) => setDraft({ ...draft, controlPlane: { ...draft.controlPlane, count: e.target.value === '3' ? 3 : 1 } })}>
                  <option value={1}>1</option><option value={3}>3</option>
                </select>
              )}
            </Field>
          </>
        )}
        {step === 3 && (
          <fieldset>
            <legend>Workers per cloud</legend>
            {draft.clouds.map((c) => {
              const w = draft.workers.find((x) => x.cloud === c);
              return (
                <Field key={c} label={`${CLOUD_NAMES[c]} workers`}>
                  {(id) => (
                    <input id={id} type="number" min={0} max={50} inputMode="numeric" value={w?.count ?? 0} onChange={(e) => {
                      const n = Math.max(0, Math.min(50, Number(e.target.value) || 0));
                      const others = draft.workers.filter((x) => x.cloud !== c);
                      setDraft({ ...draft, workers: n > 0 ? [...others, { cloud: c, count: n }].sort((a, b) => draft.clouds.indexOf(a.cloud) - draft.clouds.indexOf(b.cloud)) : others });
                    }} />
                  )}
                </Field>
              );
            })}
          </fieldset>
        )}
        <ErrorBox error={error} />
        <div className="actions">
          {step > 0 && <button type="button" onClick={() => setStep(step - 1)}>Back</button>}
          {step < STEPS.length - 1
            ? <button type="submit" className="primary" disabled={!canNext}>Next</button>
            : <button type="submit" className="primary" disabled={creating || !plan}>Create cluster</button>}
        </div>
      </form>
      <PlanPanel plan={plan} error={planError} busy={planning} />
    </div>
  );
}
