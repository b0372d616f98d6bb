// desispec view: the interactive spectrum viewer of one self-contained page. The data are in the page: the
// metadata (JSON, #viewer-meta) and one base64 chunk of little-endian float32 per target (#chunk-I: per spectrum
// flux, ivar, then sky and model where present), decoded only when the target is shown. Plotting: dygraphs.
(function () {
  "use strict";
  var meta = JSON.parse(document.getElementById("viewer-meta").textContent);
  var COLORS = { b: "#1f5fc8", r: "#c8281e", z: "#7b3294" };
  var PALETTE = ["#1f5fc8", "#c8281e", "#7b3294", "#2c9a2c", "#d07a00", "#555555"];
  // Rest-frame vacuum wavelengths (Angstrom) of common lines; e: emission, a: absorption.
  var LINES = [
    ["Lya", 1215.67, "e"], ["CIV", 1549.06, "e"], ["CIII]", 1908.73, "e"], ["MgII", 2798.75, "e"],
    ["[OII]", 3728.48, "e"], ["CaK", 3934.78, "a"], ["CaH", 3969.59, "a"], ["Hd", 4102.89, "e"],
    ["G", 4305.61, "a"], ["Hg", 4341.68, "e"], ["Hb", 4862.68, "e"], ["[OIII]", 4960.30, "e"],
    ["[OIII]", 5008.24, "e"], ["Mgb", 5176.70, "a"], ["NaD", 5895.60, "a"], ["[NII]", 6549.86, "e"],
    ["Ha", 6564.61, "e"], ["[NII]", 6585.27, "e"], ["[SII]", 6718.29, "e"], ["[SII]", 6732.67, "e"]
  ];
  var state = { index: 0, graph: null, labels: null, lastX: null, flux: [], bands: [], fluxColumns: [] };

  function el(id) { return document.getElementById(id); }

  function decode(text, Type) {
    var bin = atob(text), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Type(bytes.buffer);
  }
  var waves = meta.grids.map(function (g) { return decode(g.wave, Float64Array); });

  function gridColor(k) {
    var name = meta.grids[k].name;
    return COLORS[name.charAt(0)] || PALETTE[k % PALETTE.length];
  }

  // The arrays of target i, split per spectrum.
  function targetArrays(i) {
    var arr = decode(el("chunk-" + i).textContent.trim(), Float32Array), off = 0;
    return meta.targets[i].parts.map(function (p) {
      var n = meta.grids[p.grid].n, part = { grid: p.grid };
      part.flux = arr.subarray(off, off + n); off += n;
      part.ivar = arr.subarray(off, off + n); off += n;
      if (p.sky) { part.sky = arr.subarray(off, off + n); off += n; }
      if (p.model) { part.model = arr.subarray(off, off + n); off += n; }
      return part;
    });
  }

  // Inverse-variance weighted mean over a window of 2h+1 pixels (h = 0: unchanged); pixels with ivar 0 stay out.
  function smoothWeighted(flux, ivar, h) {
    if (h <= 0) return { flux: flux, ivar: ivar };
    var n = flux.length, sw = new Float64Array(n + 1), swf = new Float64Array(n + 1);
    for (var i = 0; i < n; i++) {
      var w = ivar[i] > 0 && isFinite(flux[i]) ? ivar[i] : 0;
      sw[i + 1] = sw[i] + w; swf[i + 1] = swf[i] + (w > 0 ? w * flux[i] : 0);
    }
    var f = new Float32Array(n), iv = new Float32Array(n);
    for (var j = 0; j < n; j++) {
      var a = Math.max(0, j - h), b = Math.min(n, j + h + 1), W = sw[b] - sw[a];
      f[j] = W > 0 ? (swf[b] - swf[a]) / W : NaN;
      iv[j] = ivar[j] > 0 ? W : 0;
    }
    return { flux: f, ivar: iv };
  }

  // Plain running mean over 2h+1 pixels of the finite values (sky, model).
  function smoothPlain(v, h) {
    if (h <= 0) return v;
    var ones = new Float32Array(v.length);
    for (var i = 0; i < v.length; i++) ones[i] = isFinite(v[i]) ? 1 : 0;
    return smoothWeighted(v, ones, h).flux;
  }

  function options() {
    return {
      h: Math.max(0, Math.min(50, parseInt(el("smooth").value, 10) || 0)),
      noise: el("noise").checked, sky: el("sky").checked, model: el("model").checked
    };
  }

  // Rows for dygraphs (x, then one value per series: flux, sky, model of each spectrum) and the series' labels and
  // colours. The noise band is not a dygraphs series: it is drawn under the plot as one polygon per spectrum
  // (drawNoise), far cheaper to paint than dygraphs' error bars (one translucent fill per pixel).
  function buildRows(i) {
    var o = options(), parts = targetArrays(i);
    var labels = ["wavelength"], colors = [], cols = [];
    parts.forEach(function (p) {
      var name = meta.grids[p.grid].name, c = { flux: labels.length };
      labels.push("flux " + name); colors.push(gridColor(p.grid));
      if (p.sky && o.sky) { c.sky = labels.length; labels.push("sky " + name); colors.push("#9a9a9a"); }
      if (p.model && o.model) { c.model = labels.length; labels.push("model " + name); colors.push("#111111"); }
      cols.push(c);
    });
    var rows = [], flux = [], bands = [];
    parts.forEach(function (p, k) {
      var w = waves[p.grid], s = smoothWeighted(p.flux, p.ivar, o.h), c = cols[k];
      var sky = c.sky ? smoothPlain(p.sky, o.h) : null, model = c.model ? smoothPlain(p.model, o.h) : null;
      var sigma = new Float32Array(w.length);
      for (var j = 0; j < w.length; j++) {
        var row = new Array(labels.length).fill(null);
        row[0] = w[j];
        sigma[j] = NaN;
        if (s.ivar[j] > 0 && isFinite(s.flux[j])) {
          row[c.flux] = s.flux[j];
          sigma[j] = 1 / Math.sqrt(s.ivar[j]);
          flux.push([w[j], s.flux[j]]);
        }
        if (sky && isFinite(sky[j])) row[c.sky] = sky[j];
        if (model && isFinite(model[j])) { row[c.model] = model[j]; flux.push([w[j], model[j]]); }
        rows.push(row);
      }
      bands.push({ wave: w, flux: s.flux, sigma: sigma, color: gridColor(p.grid) });
    });
    rows.sort(function (a, b) { return a[0] - b[0]; });
    state.flux = flux;
    state.bands = o.noise ? bands : [];
    state.fluxColumns = cols.map(function (c) { return c.flux; });
    return { rows: rows, labels: labels, colors: colors };
  }

  // The noise band (flux +- 1/sqrt(ivar)) of each spectrum in the visible range, translucent, clipped to the plot.
  // Where several pixels fall in one screen column (the whole spectrum), one vertical segment per column spans their
  // bands, all stroked at once: that paints fast, where a polygon of thousands of spiky edges took seconds; zoomed
  // in, one polygon.
  function drawNoise(ctx, area, g) {
    var xr = g.xAxisRange();
    state.bands.forEach(function (b) {
      var lo = 0, hi = b.wave.length - 1;
      while (lo < hi && b.wave[lo + 1] < xr[0]) lo++;
      while (hi > lo && b.wave[hi - 1] > xr[1]) hi--;
      ctx.save();
      ctx.globalAlpha = 0.25;
      ctx.fillStyle = b.color;
      var yTop = area.y, yBottom = area.y + area.h;
      var clamp = function (y) { return Math.max(yTop, Math.min(yBottom, y)); };
      if (hi - lo > area.w) {
        // one path of vertical segments, one per column, stroked once
        ctx.strokeStyle = b.color;
        ctx.lineWidth = 1;
        ctx.beginPath();
        var col = null, top = 0, bottom = 0;
        for (var j = lo; j <= hi + 1; j++) {
          var ok = j <= hi && isFinite(b.sigma[j]);
          var x = ok ? Math.floor(g.toDomXCoord(b.wave[j])) : null;
          if (col !== null && (j > hi || x !== col)) { ctx.moveTo(col + 0.5, clamp(top)); ctx.lineTo(col + 0.5, clamp(bottom) + 1); }
          if (j > hi) break;
          if (!ok) continue;
          var y1 = g.toDomYCoord(b.flux[j] + b.sigma[j]), y0 = g.toDomYCoord(b.flux[j] - b.sigma[j]);
          if (x !== col) { col = x; top = y1; bottom = y0; } else { top = Math.min(top, y1); bottom = Math.max(bottom, y0); }
        }
        ctx.stroke();
      } else {
        var upper = [], lower = [];
        for (var k = lo; k <= hi; k++) {
          if (!isFinite(b.sigma[k])) continue;
          var px = g.toDomXCoord(b.wave[k]);
          upper.push([px, clamp(g.toDomYCoord(b.flux[k] + b.sigma[k]))]);
          lower.push([px, clamp(g.toDomYCoord(b.flux[k] - b.sigma[k]))]);
        }
        if (upper.length >= 2) {
          ctx.beginPath();
          ctx.moveTo(upper[0][0], upper[0][1]);
          for (var u = 1; u < upper.length; u++) ctx.lineTo(upper[u][0], upper[u][1]);
          for (var m = lower.length - 1; m >= 0; m--) ctx.lineTo(lower[m][0], lower[m][1]);
          ctx.closePath();
          ctx.fill();
        }
      }
      ctx.restore();
    });
  }

  // The flux range of the visible wavelengths: 1st to 99th percentile of the shown values, padded by 15%.
  function yRangeOf(xr) {
    var v = [];
    state.flux.forEach(function (p) { if (p[0] >= xr[0] && p[0] <= xr[1]) v.push(p[1]); });
    if (v.length === 0) return null;
    v.sort(function (a, b) { return a - b; });
    var lo = v[Math.floor(0.01 * (v.length - 1))], hi = v[Math.ceil(0.99 * (v.length - 1))];
    var pad = 0.15 * Math.max(hi - lo, Math.abs(hi) * 1e-3, 1e-6);
    return [lo - pad, hi + pad];
  }

  function redshift() { var z = parseFloat(el("z").value); return isFinite(z) ? z : null; }

  function drawUnderlay(ctx, area, g) {
    drawNoise(ctx, area, g);
    drawLines(ctx, area, g);
  }

  function drawLines(ctx, area, g) {
    var z = redshift();
    if (!el("lines").checked || z === null) return;
    var xr = g.xAxisRange();
    ctx.save();
    ctx.font = "11px sans-serif";
    LINES.forEach(function (l) {
      var x = l[1] * (1 + z);
      if (x < xr[0] || x > xr[1]) return;
      var px = g.toDomXCoord(x);
      ctx.strokeStyle = l[2] === "e" ? "rgba(0,140,0,0.6)" : "rgba(210,110,0,0.7)";
      ctx.fillStyle = ctx.strokeStyle;
      ctx.setLineDash([4, 3]);
      ctx.beginPath(); ctx.moveTo(px, area.y); ctx.lineTo(px, area.y + area.h); ctx.stroke();
      ctx.fillText(l[0], px + 2, area.y + 12);
    });
    ctx.restore();
  }

  function onDraw(g) {
    var xr = g.xAxisRange();
    el("wmin").value = xr[0].toFixed(1); el("wmax").value = xr[1].toFixed(1);
    if (state.lastX && xr[0] === state.lastX[0] && xr[1] === state.lastX[1]) return;
    state.lastX = xr;
    var yr = yRangeOf(xr);
    if (yr) g.updateOptions({ valueRange: yr });
  }

  function plot(i) {
    var d = buildRows(i), window0 = state.graph ? state.graph.xAxisRange() : null;
    var zoomed = state.graph && state.graph.isZoomed("x");
    state.lastX = null;
    if (state.graph && state.labels && state.labels.join("|") === d.labels.join("|")) {
      state.graph.updateOptions({ file: d.rows });
      return;
    }
    if (state.graph) state.graph.destroy();
    state.labels = d.labels;
    state.graph = new Dygraph(el("plot"), d.rows, {
      labels: d.labels, colors: d.colors, connectSeparatedPoints: true,
      xlabel: "wavelength [\u00c5]", ylabel: meta.fluxUnit || "flux", legend: "always", labelsSeparateLines: false,
      strokeWidth: 1, dateWindow: zoomed ? window0 : null, underlayCallback: drawUnderlay, labelsDiv: el("legend"),
      drawCallback: function (g) { onDraw(g); },
      axes: { x: { valueFormatter: function (x) { return x.toFixed(2) + " \u00c5"; } } }
    });
  }

  function showInfo(i) {
    var t = meta.targets[i];
    var parts = ["#" + i];
    if (t.targetid !== undefined && t.targetid !== null) parts.push("TARGETID " + t.targetid);
    if (t.fiber !== undefined && t.fiber !== null) parts.push("FIBER " + t.fiber);
    if (t.z !== undefined && t.z !== null) parts.push("z = " + t.z.toFixed(5) + (t.spectype ? " " + t.spectype : ""));
    el("target-title").textContent = parts.join("   ");
    var q = el("quality");
    q.innerHTML = "";
    if (t.grade !== undefined && t.grade !== null) {
      var span = document.createElement("span");
      span.className = "grade grade-" + t.grade;
      span.textContent = "quality grade " + t.grade;
      q.appendChild(span);
      if (t.reasons) q.appendChild(document.createTextNode("  " + t.reasons));
    }
    var table = el("fibermap");
    table.innerHTML = "";
    for (var r = 0; r < t.row.length; r += 4) {
      var tr = document.createElement("tr");
      t.row.slice(r, r + 4).forEach(function (kv) {
        var k = document.createElement("td"), v = document.createElement("td");
        k.className = "k"; k.textContent = kv[0]; v.textContent = kv[1];
        tr.appendChild(k); tr.appendChild(v);
      });
      table.appendChild(tr);
    }
  }

  function show(i) {
    i = Math.max(0, Math.min(meta.targets.length - 1, i | 0));
    state.index = i;
    var t = meta.targets[i];
    el("index").value = i;
    el("fiber").value = t.fiber !== undefined && t.fiber !== null ? t.fiber : "";
    el("targetid").value = t.targetid || "";
    el("notfound").textContent = "";
    if (t.z !== undefined && t.z !== null) el("z").value = t.z.toFixed(5);
    showInfo(i);
    plot(i);
    return i;
  }

  function find(key, value) {
    for (var i = 0; i < meta.targets.length; i++) {
      var v = meta.targets[i][key];
      if (v !== undefined && v !== null && String(v) === String(value).trim()) return i;
    }
    return -1;
  }

  function showBy(key, value, label) {
    var i = find(key, value);
    if (i < 0) { el("notfound").textContent = label + " " + value + " is not on this page"; return -1; }
    return show(i);
  }

  function zoom(a, b) {
    if (!(b > a)) return;
    state.graph.updateOptions({ dateWindow: [a, b] });
  }

  // Points the plot draws for the flux of the current target: those dygraphs laid out (the visible wavelengths and,
  // zoomed in, the nearest point beyond each edge of each series), or those with lo <= wavelength <= hi when given.
  function pointCount(lo, hi) {
    var g = state.graph, n = 0;
    state.fluxColumns.forEach(function (c) {
      (g.layout_.points[c - 1] || []).forEach(function (p) {
        if (isNaN(p.canvasy) || p.yval === null) return;
        if (lo !== undefined && (p.xval < lo || p.xval > hi)) return;
        n++;
      });
    });
    return n;
  }

  function setup() {
    el("title").textContent = meta.title;
    document.title = meta.title;
    el("sources").textContent = meta.sources.join(", ");
    el("count").textContent = " of " + meta.targets.length;
    el("index").max = meta.targets.length - 1;
    meta.links.forEach(function (l) {
      var a = document.createElement("a");
      a.href = l.href; a.textContent = l.text;
      el("links").appendChild(a);
    });
    el("prev").onclick = function () { show(state.index - 1); };
    el("next").onclick = function () { show(state.index + 1); };
    el("index").onchange = function () { show(parseInt(el("index").value, 10) || 0); };
    el("fiber").onchange = function () { showBy("fiber", el("fiber").value, "FIBER"); };
    el("targetid").onchange = function () { showBy("targetid", el("targetid").value, "TARGETID"); };
    el("go").onclick = function () {
      if (el("targetid").value) showBy("targetid", el("targetid").value, "TARGETID");
      else showBy("fiber", el("fiber").value, "FIBER");
    };
    ["smooth", "noise", "sky", "model"].forEach(function (id) { el(id).onchange = function () { plot(state.index); }; });
    ["lines", "z"].forEach(function (id) {
      el(id).onchange = function () { state.graph.updateOptions({}); };
    });
    el("zoom").onclick = function () { zoom(parseFloat(el("wmin").value), parseFloat(el("wmax").value)); };
    el("reset").onclick = function () { state.graph.resetZoom(); };
    document.addEventListener("keydown", function (e) {
      if (e.target.tagName === "INPUT") return;
      if (e.key === "ArrowLeft") show(state.index - 1);
      if (e.key === "ArrowRight") show(state.index + 1);
    });
    if (meta.targets.length > 0) show(0);
    window.desiViewer.readyMs = performance.now();
  }

  window.desiViewer = {
    show: show, zoom: zoom, pointCount: pointCount,
    showTargetID: function (t) { return showBy("targetid", t, "TARGETID"); },
    showFiber: function (f) { return showBy("fiber", f, "FIBER"); },
    current: function () { return state.index; },
    xRange: function () { return state.graph.xAxisRange(); },
    yRange: function () { return state.graph.yAxisRange(); },
    targetCount: function () { return meta.targets.length; },
    readyMs: null
  };
  setup();
})();
