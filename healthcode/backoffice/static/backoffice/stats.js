// The statistics dashboard (统计): draws five ECharts charts from the /api/v1/admin/stats/...
// calls (same-origin back-office session) in ECharts' built-in Chinese locale ("ZH", or "EN"
// on an English page), with the site's green / yellow / red. Clicking a bar opens the roster
// with that filter. The data tables under each chart are rendered by the server; when a chart
// cannot be drawn its table is opened instead.
// Exposed as window.healthcodeStats: the chart instances, the click handlers and `navigate`.
// Without data-roster-url (a reviewer may not open the roster) the figures are not links.
(function () {
  "use strict";
  var root = document.getElementById("stats");
  if (!root) return;
  var data = root.dataset;
  var lang = (document.documentElement.lang || "").toLowerCase();
  var locale = lang.indexOf("en") === 0 ? "EN" : "ZH";
  var style = window.getComputedStyle(document.documentElement);

  function cssColor(name, fallback) {
    var value = style.getPropertyValue(name).trim();
    return value || fallback;
  }

  var PALETTE = {
    green: cssColor("--green", "#1a9a4a"),
    yellow: cssColor("--yellow", "#e6b800"),
    red: cssColor("--red", "#d23030"),
  };
  var MUTED = cssColor("--muted", "#666");
  var LINE = cssColor("--line", "#ddd");
  var BLUE = "#0b5fa5";
  var ROSTER_CURSOR = data.rosterUrl ? "pointer" : "default";

  function withParams(base, params) {
    var url = new URL(base, window.location.href);
    Object.keys(params).forEach(function (key) {
      url.searchParams.set(key, params[key]);
    });
    return url.pathname + url.search;
  }

  var stats = {
    charts: {},
    data: {},
    navigate: function (url) {
      window.location.assign(url);
    },
    rosterUrl: function (params) {
      return data.rosterUrl ? withParams(data.rosterUrl, params) : null;
    },
  };
  // Click handlers by chart: (echarts click params) -> the URL opened, or null.
  stats.targets = {
    district: function (params) {
      var row = stats.data.district.rows[params.dataIndex];
      if (!row || !params.seriesId) return null;
      return stats.rosterUrl({ district: row.district, color: params.seriesId });
    },
    industry: function (params) {
      var row = stats.data.industry.rows[params.dataIndex];
      if (!row || !params.seriesId) return null;
      return stats.rosterUrl({ industry: row.industry, color: params.seriesId });
    },
    trend: function (params) {
      if (!params.seriesId) return null;
      return stats.rosterUrl({ color: params.seriesId });
    },
    reports: function () {
      return data.reportsUrl || null;
    },
  };
  window.healthcodeStats = stats;

  function onClick(name) {
    return function (params) {
      if (params.componentType !== "series") return;
      var url = stats.targets[name](params);
      if (url) stats.navigate(url);
    };
  }

  function showError(id) {
    var note = document.getElementById("error-" + id);
    if (note) {
      note.textContent = data.tError;
      note.hidden = false;
    }
    var details = document.getElementById(id.replace("chart-", "details-"));
    if (details) details.open = true;
  }

  function emptyTitle(rows) {
    return rows.length
      ? undefined
      : { text: data.tEmpty, left: "center", top: "middle", textStyle: { color: MUTED, fontSize: 14 } };
  }

  // Horizontal bars: the height follows the number of rows, so long lists stay readable.
  function fitHeight(el, rows) {
    el.style.height = Math.max(200, 80 + rows * 34) + "px";
  }

  function colorBars(body, labelOf) {
    return {
      title: emptyTitle(body.rows),
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 8, right: 24, top: 36, bottom: 8, containLabel: true },
      xAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: LINE } } },
      yAxis: { type: "category", inverse: true, data: body.rows.map(labelOf) },
      series: body.colors.map(function (color) {
        return {
          id: color.code,
          name: color.label,
          type: "bar",
          stack: "codes",
          barMaxWidth: 28,
          cursor: ROSTER_CURSOR,
          itemStyle: { color: PALETTE[color.code] },
          emphasis: { focus: "series" },
          data: body.rows.map(function (row) {
            return row[color.code];
          }),
        };
      }),
    };
  }

  var charts = [
    {
      name: "district",
      url: data.apiDistrict,
      option: function (body, el) {
        fitHeight(el, body.rows.length);
        return colorBars(body, function (row) {
          return row.label;
        });
      },
    },
    {
      name: "industry",
      url: data.apiIndustry,
      option: function (body, el) {
        fitHeight(el, body.rows.length);
        return colorBars(body, function (row) {
          return row.industry + " " + row.name;
        });
      },
    },
    {
      name: "trend",
      url: data.apiTrend,
      option: function (body) {
        return {
          tooltip: { trigger: "axis" },
          legend: { top: 0 },
          grid: { left: 8, right: 24, top: 36, bottom: 8, containLabel: true },
          xAxis: {
            type: "category",
            boundaryGap: false,
            data: body.rows.map(function (row) {
              return row.day.slice(5);
            }),
          },
          yAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: LINE } } },
          series: body.colors.map(function (color) {
            return {
              id: color.code,
              name: color.label,
              type: "line",
              cursor: ROSTER_CURSOR,
              symbolSize: 6,
              itemStyle: { color: PALETTE[color.code] },
              lineStyle: { color: PALETTE[color.code], width: 2 },
              data: body.rows.map(function (row) {
                return row[color.code];
              }),
            };
          }),
        };
      },
    },
    {
      name: "checkins",
      url: data.apiCheckins,
      option: function (body) {
        return {
          tooltip: {
            trigger: "axis",
            formatter: function (items) {
              var row = body.rows[items[0].dataIndex];
              var percent = row.percent === null ? "—" : row.percent + "%";
              return row.day + "<br>" + data.tCheckedIn + " " + row.checked_in + " / " +
                data.tCodes + " " + row.codes + "（" + percent + "）";
            },
          },
          grid: { left: 8, right: 24, top: 40, bottom: 8, containLabel: true },
          xAxis: {
            type: "category",
            data: body.rows.map(function (row) {
              return row.day.slice(5);
            }),
          },
          yAxis: {
            type: "value",
            min: 0,
            max: 100,
            name: data.tCompletion,
            splitLine: { lineStyle: { color: LINE } },
          },
          series: [
            {
              id: "percent",
              name: data.tCompletion,
              type: "bar",
              barMaxWidth: 24,
              itemStyle: { color: BLUE },
              data: body.rows.map(function (row) {
                return row.percent === null ? 0 : row.percent;
              }),
            },
          ],
        };
      },
    },
    {
      name: "reports",
      url: data.apiReports,
      option: function (body, el) {
        fitHeight(el, body.rows.length);
        var parts = [
          { id: "reported", name: data.tReported, color: PALETTE.green },
          { id: "not_reported", name: data.tNotReported, color: "#b0b7c0" },
        ];
        return {
          title: emptyTitle(body.rows),
          tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
          legend: { top: 0 },
          grid: { left: 8, right: 24, top: 36, bottom: 8, containLabel: true },
          xAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: LINE } } },
          yAxis: {
            type: "category",
            inverse: true,
            data: body.rows.map(function (row) {
              return row.label;
            }),
          },
          series: parts.map(function (part) {
            return {
              id: part.id,
              name: part.name,
              type: "bar",
              stack: "enterprises",
              barMaxWidth: 28,
              cursor: data.reportsUrl ? "pointer" : "default",
              itemStyle: { color: part.color },
              data: body.rows.map(function (row) {
                return row[part.id];
              }),
            };
          }),
        };
      },
    },
  ];

  function draw(spec) {
    var id = "chart-" + spec.name;
    var el = document.getElementById(id);
    if (!el) return;
    if (!window.echarts) {
      showError(id);
      return;
    }
    fetch(spec.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (body) {
        stats.data[spec.name] = body;
        var option = spec.option(body, el);
        var chart = window.echarts.init(el, null, { locale: locale });
        // data-drawn marks a chart whose first rendering (with its animation) has finished.
        chart.on("finished", function settled() {
          chart.off("finished", settled);
          el.dataset.drawn = "true";
        });
        chart.setOption(option);
        if (stats.targets[spec.name]) chart.on("click", onClick(spec.name));
        stats.charts[spec.name] = chart;
      })
      .catch(function () {
        showError(id);
      });
  }

  charts.forEach(draw);
  window.addEventListener("resize", function () {
    Object.keys(stats.charts).forEach(function (name) {
      stats.charts[name].resize();
    });
  });
})();
