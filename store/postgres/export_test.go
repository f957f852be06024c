package postgres

// TrafficSQL is Traffic's query, for the benchmark's EXPLAIN.
const TrafficSQL = trafficSQL

// TrafficSettings are Traffic's planner settings.
const TrafficSettings = trafficSettings

// HistorySQL is the night-audit histories' query, for its EXPLAIN.
const HistorySQL = historySQL
