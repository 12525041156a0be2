'use client';
// The ranking screen: prompt and K responses (Markdown, highlighted code), ranking by keyboard
// (1..K best first; K = 2: 1 / 2 / T tie / B both bad), click or drag-and-drop; optional strength and
// comment; skip, undo; guidelines panel; progress. The next item loads without a page reload.
import { useCallback, useEffect, useRef, useState, type DragEvent } from 'react';
import { Markdown } from './markdown.tsx';
import { api } from './api-client.ts';
import { applyKey, emptyPicks, isComplete, placeAt, pickPosition, toPositionRanking, type PickState } from '../lib/ranking-keys.ts';
import type { ChatMessage } from '../lib/import-jsonl.ts';

interface Item { assignmentId: string; comparisonId: string; round: number; prompt: string | ChatMessage[]; responses: string[]; order: number[] }
interface Progress { myRankings: number; completed: number; total: number }
interface Props { projectId: string; projectName: string; guidelines: string; k: number; csrfToken: string }

const ORDINAL = ['1st', '2nd', '3rd', '4th', '5th', '6th'];

export function RankingScreen({ projectId, projectName, guidelines, k, csrfToken }: Props) {
  const [item, setItem] = useState<Item | null>(null);
  const [done, setDone] = useState(false);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [picks, setPicks] = useState<PickState>(emptyPicks(k));
  const [strength, setStrength] = useState<'' | 'slightly' | 'much'>('');
  const [comment, setComment] = useState('');
  const [sessionCount, setSessionCount] = useState(0);
  const [canUndo, setCanUndo] = useState(false);
  const [showGuidelines, setShowGuidelines] = useState(true);
  const [status, setStatus] = useState('');
  const [busy, setBusy] = useState(false);
  const startedAt = useRef(0);
  const dragged = useRef<number | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);

  const load = useCallback(async (message?: string) => {
    setBusy(true);
    try {
      const r = await api<{ item: Item | null; progress: Progress }>(`/api/projects/${projectId}/next`, csrfToken);
      setItem(r.item);
      setDone(!r.item);
      setProgress(r.progress);
      setPicks(emptyPicks(k));
      setStrength('');
      setComment('');
      startedAt.current = performance.now();
      if (message) setStatus(message);
      headingRef.current?.focus();
    } catch (err) {
      setStatus(`Could not load the next item: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  }, [projectId, csrfToken, k]);

  useEffect(() => { void load(); }, [load]);

  const submit = useCallback(async () => {
    if (!item || busy) return;
    if (!isComplete(picks)) { setStatus(`Rank all ${k} responses first (keys 1 to ${k}).`); return; }
    setBusy(true);
    try {
      const r = await api<{ pairs: number }>(`/api/assignments/${item.assignmentId}/submit`, csrfToken, {
        ranking: toPositionRanking(picks), bothBad: picks.bothBad, strength: strength || null, comment, durationMs: Math.round(performance.now() - startedAt.current),
      });
      setSessionCount((n) => n + 1);
      setCanUndo(true);
      await load(`Submitted: ${r.pairs} preference pair${r.pairs === 1 ? '' : 's'}.`);
    } catch (err) {
      setStatus(`Not submitted: ${(err as Error).message}`);
      setBusy(false);
    }
  }, [item, busy, picks, k, csrfToken, strength, comment, load]);

  const skip = useCallback(async () => {
    if (!item || busy) return;
    setBusy(true);
    try {
      await api(`/api/assignments/${item.assignmentId}/skip`, csrfToken);
      await load('Skipped.');
    } catch (err) {
      setStatus(`Not skipped: ${(err as Error).message}`);
      setBusy(false);
    }
  }, [item, busy, csrfToken, load]);

  const undo = useCallback(async () => {
    if (busy || !canUndo) return;
    setBusy(true);
    try {
      await api(`/api/projects/${projectId}/undo`, csrfToken);
      setSessionCount((n) => Math.max(0, n - 1));
      setCanUndo(false);
      await load('Last submission undone: rank it again.');
    } catch (err) {
      setCanUndo(false);
      setStatus(`Cannot undo: ${(err as Error).message}`);
      setBusy(false);
    }
  }, [busy, canUndo, projectId, csrfToken, load]);

  useEffect(() => {
    function onKey(e: KeyboardEvent) {
      const t = e.target as HTMLElement | null;
      if (e.ctrlKey || e.metaKey || e.altKey || (t && ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))) return;
      const key = e.key;
      // Enter / Space on a focused button or link activate it; do not also submit.
      if ((key === 'Enter' || key === ' ') && t && ['BUTTON', 'A'].includes(t.tagName)) return;
      if (key === 'Enter') { e.preventDefault(); void submit(); return; }
      if (key === 's' || key === 'S') { e.preventDefault(); void skip(); return; }
      if (key === 'u' || key === 'U') { e.preventDefault(); void undo(); return; }
      if (key === 'g' || key === 'G') { setShowGuidelines((v) => !v); return; }
      if (!item) return;
      const next = applyKey(picks, key);
      if (next !== picks) {
        e.preventDefault();
        setPicks(next);
        setStatus(describe(next));
      }
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [picks, item, submit, skip, undo]);

  const onDrop = (slot: number) => (e: DragEvent) => {
    e.preventDefault();
    const pos = dragged.current ?? Number(e.dataTransfer.getData('text/plain'));
    dragged.current = null;
    if (Number.isInteger(pos)) {
      const next = placeAt(picks, pos, slot);
      setPicks(next);
      setStatus(describe(next));
    }
  };
  const dragProps = (pos: number) => ({
    draggable: true,
    onDragStart: (e: DragEvent) => { dragged.current = pos; e.dataTransfer.setData('text/plain', String(pos)); e.dataTransfer.effectAllowed = 'move'; },
  });

  const rankOf = (pos: number) => (picks.tie || picks.bothBad ? -1 : picks.picks.indexOf(pos));

  return (
    <div className={`rank-layout ${showGuidelines ? 'with-guidelines' : ''}`}>
      <div className="rank-main">
        <header className="rank-header">
          <h1 ref={headingRef} tabIndex={-1}>{projectName}</h1>
          <div className="progress-line" aria-label="Progress">
            <span data-testid="session-count">This session: <strong>{sessionCount}</strong></span>
            {progress && <span>Yours in project: <strong>{progress.myRankings}</strong></span>}
            {progress && (
              <span>
                Project: {progress.completed}/{progress.total}{' '}
                <progress max={Math.max(1, progress.total)} value={progress.completed} aria-label="Comparisons complete" />
              </span>
            )}
            <button type="button" className="link" onClick={() => setShowGuidelines((v) => !v)} aria-expanded={showGuidelines} aria-controls="guidelines">
              Guidelines (G)
            </button>
          </div>
        </header>
        <p className="status" role="status" aria-live="polite" data-testid="status">{status}</p>
        {done && <div className="card"><h2>All done</h2><p>No items are waiting for you in this project. Thank you!</p></div>}
        {item && (
          <>
            <section className="prompt card" aria-labelledby="prompt-h">
              <h2 id="prompt-h">Prompt</h2>
              {typeof item.prompt === 'string' ? <Markdown source={item.prompt} /> : (
                <ol className="chat">
                  {item.prompt.map((m, i) => <li key={i} className={`msg msg-${m.role}`}><span className="role">{m.role}</span><Markdown source={m.content} /></li>)}
                </ol>
              )}
            </section>
            <div className={`responses k${k}`}>
              {item.responses.map((r, pos) => {
                const rank = rankOf(pos);
                return (
                  <section key={`${item.assignmentId}-${pos}`} className={`response card ${rank >= 0 ? 'ranked' : ''}`} aria-labelledby={`resp-${pos}`} data-testid={`response-${pos + 1}`} {...dragProps(pos)}>
                    <header>
                      <h2 id={`resp-${pos}`}>Response {pos + 1}</h2>
                      <button type="button" onClick={() => { const n = pickPosition(picks, pos); setPicks(n); setStatus(describe(n)); }} aria-label={`Pick response ${pos + 1} as the next best (key ${pos + 1})`}>
                        {rank >= 0 ? `${ORDINAL[rank]}` : `Pick (${pos + 1})`}
                      </button>
                    </header>
                    <Markdown source={r} />
                  </section>
                );
              })}
            </div>
            <section className="card ranking-bar" aria-labelledby="ranking-h">
              <h2 id="ranking-h">Your ranking (best first)</h2>
              <ol className="slots">
                {Array.from({ length: k }, (_, slot) => {
                  const pos = picks.tie || picks.bothBad ? undefined : picks.picks[slot];
                  return (
                    <li key={slot} className="slot" onDragOver={(e) => e.preventDefault()} onDrop={onDrop(slot)} data-testid={`slot-${slot + 1}`}>
                      <span className="slot-n">{ORDINAL[slot]}</span>
                      {pos !== undefined ? <span className="slot-item" {...dragProps(pos)}>Response {pos + 1}</span> : <span className="slot-empty">drop or press a number</span>}
                    </li>
                  );
                })}
              </ol>
              {k === 2 && (
                <div className="tie-buttons">
                  <button type="button" aria-pressed={picks.tie} onClick={() => setPicks(applyKey(picks, 't'))}>Tie (T)</button>
                  <button type="button" aria-pressed={picks.bothBad} onClick={() => setPicks(applyKey(picks, 'b'))}>Both bad (B)</button>
                </div>
              )}
              <fieldset className="strength">
                <legend>Strength (optional)</legend>
                {(['', 'slightly', 'much'] as const).map((s) => (
                  <label key={s || 'none'}>
                    <input type="radio" name="strength" value={s} checked={strength === s} onChange={() => setStrength(s)} /> {s === '' ? 'not said' : s === 'slightly' ? 'slightly better' : 'much better'}
                  </label>
                ))}
              </fieldset>
              <label htmlFor="comment">Comment (optional)</label>
              <textarea id="comment" value={comment} onChange={(e) => setComment(e.target.value)} rows={2} maxLength={10000} />
              <div className="actions">
                <button type="button" className="primary" onClick={() => void submit()} disabled={busy || !isComplete(picks)}>Submit (Enter)</button>
                <button type="button" onClick={() => void skip()} disabled={busy}>Skip (S)</button>
                <button type="button" onClick={() => void undo()} disabled={busy || !canUndo}>Undo last (U)</button>
                <button type="button" onClick={() => setPicks(emptyPicks(k))} disabled={busy}>Clear (Esc)</button>
              </div>
              <p className="keys-help">Keys: 1–{k} pick best first{k === 2 ? ', T tie, B both bad' : ''}; Backspace undoes a pick; Enter submits; S skips; U undoes the last submission; G toggles the guidelines.</p>
            </section>
          </>
        )}
      </div>
      {showGuidelines && (
        <aside id="guidelines" className="guidelines card" aria-label="Guidelines">
          <h2>Guidelines</h2>
          {guidelines ? <Markdown source={guidelines} /> : <p>No guidelines for this project.</p>}
        </aside>
      )}
    </div>
  );
}

function describe(s: PickState): string {
  if (s.tie) return 'Marked as a tie.';
  if (s.bothBad) return 'Marked as both bad.';
  if (s.picks.length === 0) return 'No response ranked yet.';
  return `Ranking: ${s.picks.map((p, i) => `${ORDINAL[i]} response ${p + 1}`).join(', ')}${isComplete(s) ? '. Press Enter to submit.' : '.'}`;
}
