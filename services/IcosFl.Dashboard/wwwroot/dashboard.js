// The IcosFl dashboard: plain DOM and inline SVG, no libraries (the controller may have no internet).
'use strict';
const IcosFl = (() => {
  const SVG = 'http://www.w3.org/2000/svg';

  const $ = id => document.getElementById(id);
  const el = (tag, props = {}, children = []) => {
    const node = document.createElement(tag);
    const { dataset, ...rest } = props;
    Object.assign(node, rest);
    Object.assign(node.dataset, dataset || {});
    for (const child of children) node.append(child);
    return node;
  };
  const svg = (tag, attrs = {}) => {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    return node;
  };
  const num = x => (x === null || x === undefined) ? '–' : Number(x).toPrecision(4);
  const ago = iso => {
    const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (seconds < 90) return `${seconds} s ago`;
    if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
    return new Date(iso).toLocaleString();
  };
  async function fetchJson(url) {
    const response = await fetch(url, { headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`${url}: ${response.status} ${(await response.json().catch(() => ({}))).error || ''}`);
    return response.json();
  }
  async function showMode() {
    const info = await fetchJson('/api/info');
    $('mode').textContent = `${info.mode} mode`;
    return info;
  }
  const completedRounds = status => status.rounds.filter(r => r.state === 'Completed');

  function workerRows(tbody, workers, withPoints) {
    tbody.replaceChildren(...workers.map(w => el('tr', { className: 'worker', dataset: { worker: w.id } }, [
      el('td', { textContent: w.id }),
      el('td', { textContent: w.host }),
      el('td', { className: w.alive ? 'alive' : 'offline', textContent: w.alive ? 'alive' : 'offline' }),
      el('td', { textContent: ago(w.lastHeartbeat), title: w.lastHeartbeat }),
      ...(withPoints ? [el('td', { textContent: Object.entries(w.dataPoints).map(([m, n]) => `${m} ${n}`).join(', ') })] : []),
    ])));
    if (workers.length === 0) tbody.replaceChildren(el('tr', {}, [el('td', { colSpan: 5, className: 'muted', textContent: 'no worker has sent a heartbeat' })]));
  }

  // ---- the list of federations -------------------------------------------------------------
  async function listPage() {
    await showMode();
    const refresh = async () => {
      const [federations, workers] = await Promise.all([fetchJson('/api/federations'), fetchJson('/api/workers')]);
      const tbody = $('federations').tBodies[0];
      tbody.replaceChildren(...federations.slice().reverse().map(f => {
        const done = completedRounds(f);
        const last = done[done.length - 1];
        return el('tr', { className: 'federation' }, [
          el('td', {}, [el('a', { href: `/federations/${f.federationId}`, textContent: f.federationId })]),
          el('td', {}, [el('span', { className: `state ${f.state}`, textContent: f.state })]),
          el('td', { textContent: `${f.round}/${f.numServerRounds}` }),
          el('td', { textContent: f.strategy }),
          el('td', { textContent: f.metric }),
          el('td', { textContent: num(last?.trainLoss) }),
          el('td', { textContent: new Date(f.createdAt).toLocaleString() }),
        ]);
      }));
      if (federations.length === 0) tbody.replaceChildren(el('tr', {}, [el('td', { colSpan: 7, className: 'muted', textContent: 'no federation yet: start one with ./icosfl start' })]));
      workerRows($('workers').tBodies[0], workers, true);
    };
    await refresh();
    setInterval(() => refresh().catch(console.error), 2000);
  }

  // ---- one federation ------------------------------------------------------------------------
  async function federationPage(id) {
    $('federation-id').textContent = id;
    document.title = `IcosFl federation ${id.slice(0, 8)}`;
    const info = await showMode();
    if (info.seqUrl) {
      const link = $('seq-link');
      link.href = `${info.seqUrl}/#/events?filter=${encodeURIComponent(`FederationId = '${id}'`)}`;
      link.hidden = false;
    }
    const live = $('live');
    if (!('EventSource' in window)) {
      const poll = async () => render(await fetchJson(`/api/federations/${id}`));
      await poll();
      setInterval(() => poll().catch(console.error), 2000);
      live.textContent = 'polling';
      return;
    }
    const source = new EventSource(`/api/federations/${id}/events`);
    source.addEventListener('status', e => {
      live.textContent = 'live';
      live.classList.add('on');
      render(JSON.parse(e.data));
    });
    source.onerror = () => {
      live.textContent = 'reconnecting…';
      live.classList.remove('on');
      // A federation that does not exist answers 404: say so instead of retrying forever.
      fetchJson(`/api/federations/${id}`).catch(err => { source.close(); live.textContent = ''; showError(err.message); });
    };
  }

  function showError(message) {
    const reason = $('reason');
    reason.textContent = message;
    reason.hidden = false;
  }

  function render(status) {
    const state = $('state');
    state.textContent = status.state;
    state.className = `state ${status.state}`;
    $('phase').textContent = status.phase !== status.state ? `(${status.phase})` : '';
    $('config').textContent = `· ${status.strategy} on ${status.metric} · started ${new Date(status.createdAt).toLocaleString()}`;
    $('reason').hidden = !status.reason;
    $('reason').textContent = status.reason || '';
    $('waiting').hidden = !status.waiting;
    $('waiting').textContent = status.waiting || '';

    const done = completedRounds(status).length;
    const total = status.numServerRounds;
    const bar = $('progress-bar');
    bar.style.width = `${Math.min(100, 100 * done / total)}%`;
    bar.parentElement.setAttribute('aria-valuemax', total);
    bar.parentElement.setAttribute('aria-valuenow', done);
    const running = status.rounds.find(r => !['Completed', 'Failed'].includes(r.state));
    $('progress-text').textContent = `${done} of ${total} rounds completed` +
      (status.state === 'Running' ? ` · round ${status.round} ${running ? running.state.toLowerCase() : status.phase === 'WaitingForQuorum' ? 'waiting for quorum' : 'starting'}` : '');

    workerRows($('workers').tBodies[0], status.workers, false);
    drawLossChart($('loss-chart'), completedRounds(status));
    drawParticipation($('participation'), status);
    showForecast(status).catch(err => { $('forecast-summary').textContent = err.message; });
    showTimeline(status).catch(err => { $('timeline-rounds').textContent = err.message; });
  }

  // ---- round timeline: one row per selected worker of the chosen round (the latest by default) --------------
  let timelineRound = null, timelineShown = null;
  async function showTimeline(status) {
    const rounds = [...new Set(status.rounds.map(r => r.round))];
    if (rounds.length === 0) return;
    const chosen = timelineRound ?? rounds[rounds.length - 1];
    const latest = status.rounds.filter(r => r.round === chosen).pop();
    const key = `${chosen} ${latest ? latest.state + latest.participants.length : ''}`;
    const picker = $('timeline-rounds');
    picker.replaceChildren(document.createTextNode('round '), ...rounds.map(n => {
      const button = el('button', { type: 'button', className: n === chosen ? 'on' : '', dataset: { round: n } }, [String(n)]);
      button.onclick = () => { timelineRound = n; timelineShown = null; showTimeline(status).catch(console.error); };
      return button;
    }));
    if (key === timelineShown) return;
    timelineShown = key;
    const timeline = await fetchJson(`/api/federations/${status.federationId}/rounds/${chosen}/timeline`);
    drawTimeline($('timeline').tBodies[0], timeline);
  }

  function drawTimeline(body, timeline) {
    const arrived = timeline.workers.map(w => w.arrivedAfterMs).filter(v => v !== null && v !== undefined).sort((a, b) => a - b);
    const median = arrived.length ? arrived[Math.floor((arrived.length - 1) / 2)] : null;
    const scale = Math.max(1, ...arrived);
    const ms = v => v === null || v === undefined ? '' : `${Math.round(v).toLocaleString('en')} ms`;
    body.replaceChildren(...timeline.workers.map(w => {
      const straggler = median !== null && w.arrivedAfterMs !== null && w.arrivedAfterMs > 1.5 * median;
      const bar = el('div', { className: 'timeline-bar' });
      if (w.arrivedAfterMs !== null && w.arrivedAfterMs !== undefined) {
        const training = Math.min(w.trainingMs ?? 0, w.arrivedAfterMs);
        bar.append(el('div', { className: 'wait', style: `left:0;width:${100 * (w.arrivedAfterMs - training) / scale}%` }),
          el('div', { className: 'training', style: `left:${100 * (w.arrivedAfterMs - training) / scale}%;width:${100 * training / scale}%` }));
      }
      const outcome = el('td', { className: 'outcome' }, [w.outcome + (w.reason ? `: ${w.reason}` : '')]);
      if (straggler) outcome.append(' ', el('span', { className: 'mark straggler' }, ['straggler']));
      return el('tr', { dataset: { worker: w.workerId, arrived: w.arrivedAfterMs ?? '', training: w.trainingMs ?? '' } },
        [el('td', {}, [w.workerId]), outcome, el('td', { className: 'arrived' }, [ms(w.arrivedAfterMs)]), el('td', { className: 'training' }, [ms(w.trainingMs)]), el('td', {}, [bar])]);
    }));
  }

  // The evaluations and forecasts change with each completed round (a new global model): fetched again only then.
  let forecastShown = null;
  async function showForecast(status) {
    const key = `${completedRounds(status).length} ${status.state}`;
    if (key === forecastShown) return;
    forecastShown = key;
    const id = status.federationId;
    const [evaluations, forecast] = await Promise.all([
      fetchJson(`/api/federations/${id}/evaluations`), fetchJson(`/api/federations/${id}/forecast`)]);
    if (forecastShown !== key) return;
    drawRmseChart($('rmse-chart'), evaluations.rounds);
    drawForecasts($('forecasts'), $('forecast-summary'), forecast);
  }

  // ---- charts per round: inline SVG ---------------------------------------------------------
  function drawLossChart(chart, rounds) {
    drawRoundChart(chart, rounds, [
      { name: 'train', label: 'train loss', points: rounds.filter(r => r.trainLoss !== null).map(r => [r.round, r.trainLoss]) },
      { name: 'eval', label: 'eval loss', points: rounds.filter(r => r.evalLoss !== null && r.evalLoss !== undefined).map(r => [r.round, r.evalLoss]) },
    ]);
  }

  // The centralized evaluation's RMSE of each round's model beside persistence's on the same windows.
  function drawRmseChart(chart, rounds) {
    const present = v => v !== null && v !== undefined;
    drawRoundChart(chart, rounds, [
      { name: 'rmse', label: 'RMSE', points: rounds.filter(r => present(r.rmse)).map(r => [r.round, r.rmse]) },
      { name: 'persistence', label: 'persistence RMSE', points: rounds.filter(r => present(r.persistenceRmse)).map(r => [r.round, r.persistenceRmse]) },
    ], 'no centralized evaluation yet');
  }

  // series: [{ name, label, points: [[round, value]] }], one line and one dot per point, each dot with data-round and data-value.
  function drawRoundChart(chart, rounds, series, nothing = 'no completed round yet') {
    const width = 560, height = 280, left = 56, right = 16, top = 14, bottom = 36;
    chart.replaceChildren();
    chart.dataset.completedRounds = rounds.length;
    const values = series.flatMap(s => s.points.map(p => p[1])).filter(Number.isFinite);
    if (values.length === 0) {
      const empty = svg('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle' });
      empty.textContent = rounds.length === 0 ? 'no completed round yet' : nothing;
      chart.append(empty);
      return;
    }
    const maxRound = Math.max(...rounds.map(r => r.round), 2);
    const minRound = Math.min(...rounds.map(r => r.round), 1);
    // A log scale when the values span more than two decades (a first round far above the rest).
    const positive = values.every(v => v > 0);
    const log = positive && Math.max(...values) / Math.min(...values) > 100;
    const f = v => log ? Math.log10(v) : v;
    let lo = log ? Math.floor(f(Math.min(...values))) : 0;
    let hi = log ? Math.ceil(f(Math.max(...values))) : niceCeiling(Math.max(...values));
    if (hi === lo) hi = lo + 1;
    // Points sit 14 px inside the axes, so the first and last are not drawn on them.
    const inset = 14;
    const x = r => left + inset + (maxRound === minRound ? 0.5 : (r - minRound) / (maxRound - minRound)) * (width - left - right - 2 * inset);
    const y = v => top + (1 - (f(v) - lo) / (hi - lo)) * (height - top - bottom);

    const ticks = log ? range(lo, hi).map(e => 10 ** e) : range(0, 4).map(i => hi * i / 4);
    for (const t of ticks) {
      chart.append(svg('line', { class: 'gridline', x1: left, x2: width - right, y1: y(t), y2: y(t) }));
      const label = svg('text', { x: left - 6, y: y(t) + 4, 'text-anchor': 'end' });
      label.textContent = log ? t.toExponential(0) : Number(t.toPrecision(3)).toString();
      chart.append(label);
    }
    const step = Math.max(1, Math.ceil((maxRound - minRound + 1) / 12));
    for (let r = minRound; r <= maxRound; r += step) {
      const label = svg('text', { x: x(r), y: height - bottom + 16, 'text-anchor': 'middle' });
      label.textContent = r;
      chart.append(label);
    }
    axes(chart, width, height, left, right, top, bottom, 'round');
    for (const s of series)
      drawSeries(chart, s.name, s.points.filter(p => Number.isFinite(p[1])), x, y, 4,
        ([r, v]) => ({ 'data-round': r, 'data-value': v }), ([r, v]) => `round ${r}: ${s.label} ${num(v)}`);
  }

  function axes(chart, width, height, left, right, top, bottom, xLabel) {
    const axisLabel = svg('text', { x: (left + width - right) / 2, y: height - 4, 'text-anchor': 'middle' });
    axisLabel.textContent = xLabel;
    chart.append(axisLabel);
    chart.append(svg('line', { class: 'axis', x1: left, x2: left, y1: top, y2: height - bottom }));
    chart.append(svg('line', { class: 'axis', x1: left, x2: width - right, y1: height - bottom, y2: height - bottom }));
  }

  // One series: a polyline through its points and a dot per point, with the given data- attributes and hover title.
  function drawSeries(chart, name, points, x, y, radius, data, title) {
    if (points.length > 1)
      chart.append(svg('polyline', { class: `line ${name}`, points: points.map(p => `${x(p[0])},${y(p[1])}`).join(' ') }));
    for (const p of points) {
      const dot = svg('circle', { class: `point ${name}`, cx: x(p[0]), cy: y(p[1]), r: radius, ...data(p) });
      const hover = svg('title');
      hover.textContent = title(p);
      dot.append(hover);
      chart.append(dot);
    }
  }

  // ---- a node's recent series and the global model's forecast over it --------------------------
  function drawForecastChart(chart, node) {
    const width = 560, height = 240, left = 56, right = 16, top = 14, bottom = 36;
    chart.replaceChildren();
    const origin = node.origin ? Date.parse(node.origin) : Date.parse(node.actual[node.actual.length - 1]?.time ?? 0);
    const actual = node.actual.map(p => [(Date.parse(p.time) - origin) / 1000, p.value, p.time]);
    const forecast = node.forecast.map(p => [(Date.parse(p.time) - origin) / 1000, p.value, p.step]);
    chart.dataset.actualPoints = actual.length;
    chart.dataset.forecastPoints = forecast.length;
    const values = [...actual, ...forecast].map(p => p[1]).filter(Number.isFinite);
    if (values.length === 0) {
      const empty = svg('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle' });
      empty.textContent = 'no data';
      chart.append(empty);
      return;
    }
    const seconds = [...actual, ...forecast].map(p => p[0]);
    const x0 = Math.min(...seconds), x1 = Math.max(...seconds, x0 + 1);
    let lo = Math.min(...values), hi = Math.max(...values);
    const pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.05 || 1;
    lo -= pad;
    hi += pad;
    const x = t => left + (t - x0) / (x1 - x0) * (width - left - right);
    const y = v => top + (1 - (v - lo) / (hi - lo)) * (height - top - bottom);

    for (const t of range(0, 4).map(i => lo + (hi - lo) * i / 4)) {
      chart.append(svg('line', { class: 'gridline', x1: left, x2: width - right, y1: y(t), y2: y(t) }));
      const label = svg('text', { x: left - 6, y: y(t) + 4, 'text-anchor': 'end' });
      label.textContent = Number(t.toPrecision(3)).toString();
      chart.append(label);
    }
    // Seconds on a round step (1, 2, 2.5 or 5 times a power of ten), about five across, 0 (the origin) among them.
    const every = niceCeiling((x1 - x0) / 5);
    for (const t of range(Math.ceil(x0 / every), Math.floor(x1 / every)).map(i => i * every)) {
      const label = svg('text', { x: x(t), y: height - bottom + 16, 'text-anchor': 'middle' });
      label.textContent = `${t > 0 ? '+' : ''}${Math.round(t)} s`;
      chart.append(label);
    }
    axes(chart, width, height, left, right, top, bottom, node.origin ? 'seconds from the forecast origin' : 'seconds from the newest point');
    if (node.origin)
      chart.append(svg('line', { class: 'origin', x1: x(0), x2: x(0), y1: top, y2: height - bottom }));
    drawSeries(chart, 'actual', actual, x, y, 1.5, p => ({ 'data-time': p[2], 'data-value': p[1] }), p => `${p[2]}: ${num(p[1])}`);
    drawSeries(chart, 'forecast', forecast, x, y, 2.5, p => ({ 'data-step': p[2], 'data-value': p[1] }), p => `step ${p[2]} (+${p[0]} s): forecast ${num(p[1])}`);
  }

  function drawForecasts(box, summary, forecast) {
    summary.textContent = forecast.round
      ? `${forecast.metric}: round ${forecast.round}'s global model, ${forecast.horizon} steps of ${forecast.stepSeconds} s` + (forecast.reason ? ` · ${forecast.reason}` : '')
      : forecast.reason || '';
    box.replaceChildren(...forecast.nodes.map(node => {
      const chart = svg('svg', { class: 'chart forecast-chart', width: 560, height: 240, role: 'img', 'aria-label': `${node.node}: actual and forecast ${forecast.metric}` });
      drawForecastChart(chart, node);
      return el('figure', { className: 'node-forecast', dataset: { node: node.node } }, [
        el('h3', { textContent: `${node.node} (${node.role})` }),
        chart,
        ...(node.reason && node.reason !== forecast.reason ? [el('p', { className: 'muted reason-text', textContent: node.reason })] : []),
      ]);
    }));
  }

  const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
  function niceCeiling(v) {
    const magnitude = 10 ** Math.floor(Math.log10(v));
    return [1, 2, 2.5, 5, 10].map(m => m * magnitude).find(c => c >= v) ?? v;
  }

  // ---- participation grid: workers x rounds --------------------------------------------------
  function drawParticipation(table, status) {
    const workers = new Set(status.workers.map(w => w.id));
    for (const r of status.rounds) {
      r.participants.forEach(p => workers.add(p));
      r.rejected.forEach(x => workers.add(x.workerId));
    }
    const ids = [...workers].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    table.tHead.replaceChildren(el('tr', {}, [
      el('th', { textContent: 'worker' }),
      ...status.rounds.map(r => el('th', { textContent: r.attempt > 1 ? `${r.round}.${r.attempt}` : `${r.round}`, title: `round ${r.round}, attempt ${r.attempt}: ${r.state}${r.reason ? ' (' + r.reason + ')' : ''}` })),
    ]));
    table.tBodies[0].replaceChildren(...ids.map(id => el('tr', { dataset: { worker: id } }, [
      el('td', { textContent: id }),
      ...status.rounds.map(r => {
        const rejected = r.rejected.find(x => x.workerId === id);
        if (rejected) return el('td', { className: 'cell', title: rejected.reason }, [el('span', { className: 'mark rejected', textContent: '✕' })]);
        if (r.participants.includes(id)) return el('td', { className: 'cell', title: 'update aggregated' }, [el('span', { className: 'mark used', textContent: '●' })]);
        return el('td', { className: 'cell' }, [el('span', { className: 'mark none', textContent: '·' })]);
      }),
    ])));
  }

  return { listPage, federationPage, drawLossChart, drawRmseChart, drawForecastChart };
})();
