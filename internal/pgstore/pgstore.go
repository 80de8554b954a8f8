// Package pgstore keeps runs in PostgreSQL, for teams whose runs come from
// many CI runners and hosts and whose dashboards read a database: vmbench
// publish writes a run, its samples and its judged cells, one transaction
// per run, and vmbench history --db reads the cells back. The results
// directory stays the default store; this one is optional.
//
// The tables (docs/history.md describes them):
//
//	vmbench_schema   the schema's version, one row
//	vmbench_runs     a run: id, scenario, its sha256, start, end, host, labels, run.json
//	vmbench_samples  a trial: the run, its line number, platform, workload, variant, round, error, the sample
//	vmbench_cells    a judged cell: a platform's median, or its overhead versus another, with the interval
package pgstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vmbench/vmbench/internal/history"
	"github.com/vmbench/vmbench/internal/report"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/safefs"
)

// migrations bring the schema from version i to i+1. A migration is never
// edited once released: a change is a new one.
var migrations = []string{
	`CREATE TABLE vmbench_schema (version integer NOT NULL);
INSERT INTO vmbench_schema VALUES (0);
CREATE TABLE vmbench_runs (
	run_id          text PRIMARY KEY,
	scenario        text NOT NULL,
	scenario_sha256 text NOT NULL,
	start           timestamptz NOT NULL,
	"end"           timestamptz,
	host            text NOT NULL,
	labels          jsonb NOT NULL,
	run_json        jsonb NOT NULL,
	content_sha256  text NOT NULL,
	published       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX vmbench_runs_scenario_start ON vmbench_runs (scenario, start);
CREATE TABLE vmbench_samples (
	run_id   text NOT NULL REFERENCES vmbench_runs ON DELETE CASCADE,
	line     integer NOT NULL,
	platform text NOT NULL,
	workload text NOT NULL,
	variant  text NOT NULL,
	round    bigint NOT NULL,
	warmup   boolean NOT NULL,
	error    text NOT NULL,
	sample   jsonb NOT NULL,
	PRIMARY KEY (run_id, line)
);
CREATE TABLE vmbench_cells (
	run_id           text NOT NULL REFERENCES vmbench_runs ON DELETE CASCADE,
	seq              integer NOT NULL,
	workload         text NOT NULL,
	variant          text NOT NULL,
	metric           text NOT NULL,
	unit             text NOT NULL,
	platform         text NOT NULL,
	versus           text NOT NULL,
	higher_is_better boolean NOT NULL,
	value            double precision NOT NULL,
	lo               double precision,
	hi               double precision,
	level            double precision NOT NULL,
	n                integer NOT NULL,
	verdict          text NOT NULL,
	PRIMARY KEY (run_id, workload, variant, metric, platform, versus)
);`,
}

// Version is the schema version this vmbench writes and reads.
var Version = len(migrations)

func connect(ctx context.Context, url string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("the database address: %w (want postgres://user@host/db or postgres:///db?host=/socket/dir)", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("the database at %s is unreachable: %w", cfg.Host, err)
	}
	return c, nil
}

// schema reads the schema's version: 0 when vmbench's tables are not
// there. A version newer than this vmbench's is an error.
func schema(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (int, error) {
	// Asked first: a query of a missing table would end the transaction.
	var there bool
	if err := q.QueryRow(ctx, `SELECT to_regclass('vmbench_schema') IS NOT NULL`).Scan(&there); err != nil {
		return 0, fmt.Errorf("read the database's tables: %w", err)
	}
	if !there {
		return 0, nil
	}
	var v int
	if err := q.QueryRow(ctx, `SELECT version FROM vmbench_schema`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read vmbench_schema: %w", err)
	}
	if v > Version {
		return v, fmt.Errorf("the database's vmbench schema is version %d, newer than this vmbench's %d: upgrade vmbench", v, Version)
	}
	return v, nil
}

// Published is what Publish did.
type Published struct {
	RunID   string
	Samples int
	Cells   int
	// Unchanged: the run was there already, as it is now; nothing was
	// written. Replaced: it was there with other content (a retry added
	// trials since) and was written anew.
	Unchanged, Replaced bool
}

// Publish writes the stored run in dir to the database at url, in one
// transaction, bringing the schema up to date first. A run published
// before with the same content is left as it is. A damaged run (one that
// does not read, or lacks trials its plan recorded) is refused.
func Publish(ctx context.Context, url, dir string) (Published, error) {
	info, err := result.ReadRun(dir)
	if err != nil {
		return Published{}, fmt.Errorf("the run does not read: %w", err)
	}
	runJSON, err := safefs.ReadFile(dir, result.RunFile, 64<<20)
	if err != nil {
		return Published{}, err
	}
	samplesText, err := safefs.ReadFile(dir, result.SamplesFile, 1<<30)
	if err != nil {
		return Published{}, err
	}
	samples, err := result.DecodeSamples(bytes.NewReader(samplesText), dir+"/"+result.SamplesFile)
	if err != nil {
		return Published{}, fmt.Errorf("the run is damaged: %w", err)
	}
	if m := result.Missing(info, samples); m != "" {
		return Published{}, fmt.Errorf("the run is damaged or unfinished: %s", m)
	}
	if info.End.IsZero() && !info.Interrupted {
		return Published{}, errors.New("run.json records no end: the run was killed or still runs (vmbench run --resume finishes it)")
	}
	sum := sha256.New()
	sum.Write(runJSON)
	sum.Write(samplesText)
	content := hex.EncodeToString(sum.Sum(nil))
	run := history.FromTable(info, report.Build(info, samples))
	out := Published{RunID: info.RunID, Samples: len(samples), Cells: len(run.Cells)}

	c, err := connect(ctx, url)
	if err != nil {
		return out, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	tx, err := c.Begin(ctx)
	if err != nil {
		return out, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// One publisher migrates at a time; the others wait here.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7660626)`); err != nil {
		return out, err
	}
	v, err := schema(ctx, tx)
	if err != nil {
		return out, err
	}
	for ; v < Version; v++ {
		if _, err := tx.Exec(ctx, migrations[v]); err != nil {
			return out, fmt.Errorf("migrate the vmbench schema to version %d: %w", v+1, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE vmbench_schema SET version = $1`, v+1); err != nil {
			return out, err
		}
	}
	var had string
	switch err := tx.QueryRow(ctx, `SELECT content_sha256 FROM vmbench_runs WHERE run_id = $1`, info.RunID).Scan(&had); {
	case err == nil && had == content:
		out.Unchanged = true
		return out, tx.Commit(ctx)
	case err == nil:
		out.Replaced = true
		if _, err := tx.Exec(ctx, `DELETE FROM vmbench_runs WHERE run_id = $1`, info.RunID); err != nil {
			return out, err
		}
	case !errors.Is(err, pgx.ErrNoRows):
		return out, err
	}
	labels, _ := json.Marshal(info.Labels)
	if info.Labels == nil {
		labels = []byte("{}")
	}
	var end *time.Time
	if !info.End.IsZero() {
		end = &info.End
	}
	if _, err := tx.Exec(ctx, `INSERT INTO vmbench_runs (run_id, scenario, scenario_sha256, start, "end", host, labels, run_json, content_sha256)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		info.RunID, info.Scenario.Name, info.Scenario.SHA256, info.Start, end, info.Host.Hostname, string(labels), string(runJSON), content); err != nil {
		return out, fmt.Errorf("write the run: %w", err)
	}
	rows := make([][]any, 0, len(samples))
	for i, s := range samples {
		b, err := json.Marshal(s)
		if err != nil {
			return out, err
		}
		rows = append(rows, []any{info.RunID, i + 1, s.Platform, s.Type, s.Label, s.RoundKey(), s.Warmup, s.Error, string(b)})
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"vmbench_samples"}, []string{"run_id", "line", "platform", "workload", "variant", "round", "warmup", "error", "sample"}, pgx.CopyFromRows(rows)); err != nil {
		return out, fmt.Errorf("write the samples: %w", err)
	}
	rows = rows[:0]
	for i, cell := range run.Cells {
		k := cell.Key
		rows = append(rows, []any{info.RunID, i, k.Workload, k.Label, k.Metric, k.Unit, k.Platform, k.Versus, k.Higher, cell.Value, nullNaN(cell.Lo), nullNaN(cell.Hi), cell.Level, cell.N, cell.Verdict})
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"vmbench_cells"}, []string{"run_id", "seq", "workload", "variant", "metric", "unit", "platform", "versus", "higher_is_better", "value", "lo", "hi", "level", "n", "verdict"}, pgx.CopyFromRows(rows)); err != nil {
		return out, fmt.Errorf("write the cells: %w", err)
	}
	return out, tx.Commit(ctx)
}

func nullNaN(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

// ReadRuns reads the runs in the database, with their cells, for vmbench
// history; scenario, if given, keeps that scenario's runs only.
func ReadRuns(ctx context.Context, url, scenario string) ([]history.Run, error) {
	c, err := connect(ctx, url)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	v, err := schema(ctx, c)
	if err != nil {
		return nil, err
	}
	if v < Version {
		return nil, fmt.Errorf("the database holds no vmbench runs at schema version %d (it is at %d): vmbench publish writes and migrates them", Version, v)
	}
	rows, err := c.Query(ctx, `SELECT run_id, scenario, scenario_sha256, start, host, labels FROM vmbench_runs WHERE $1 = '' OR scenario = $1 ORDER BY start`, scenario)
	if err != nil {
		return nil, err
	}
	var runs []history.Run
	at := map[string]int{}
	for rows.Next() {
		var r history.Run
		if err := rows.Scan(&r.ID, &r.Scenario, &r.SHA256, &r.Start, &r.Host, &r.Labels); err != nil {
			return nil, err
		}
		at[r.ID] = len(runs)
		runs = append(runs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = c.Query(ctx, `SELECT c.run_id, workload, variant, metric, unit, platform, versus, higher_is_better, value, lo, hi, level, n, verdict
		FROM vmbench_cells c JOIN vmbench_runs r USING (run_id) WHERE $1 = '' OR r.scenario = $1 ORDER BY c.run_id, c.seq`, scenario)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id string
		var cell history.Cell
		var lo, hi *float64
		k := &cell.Key
		if err := rows.Scan(&id, &k.Workload, &k.Label, &k.Metric, &k.Unit, &k.Platform, &k.Versus, &k.Higher, &cell.Value, &lo, &hi, &cell.Level, &cell.N, &cell.Verdict); err != nil {
			return nil, err
		}
		cell.Lo, cell.Hi = math.NaN(), math.NaN()
		if lo != nil && hi != nil {
			cell.Lo, cell.Hi = *lo, *hi
		}
		if i, ok := at[id]; ok {
			runs[i].Cells = append(runs[i].Cells, cell)
		}
	}
	return runs, rows.Err()
}
