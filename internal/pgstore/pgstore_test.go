package pgstore_test

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/vmbench/vmbench/internal/pgstore"
	"github.com/vmbench/vmbench/internal/testagent"
)

// The example Grafana dashboard's queries (its variable's and every
// panel's) run against a real PostgreSQL that vmbench publish wrote, and
// each returns rows.
func TestGrafanaDashboardQueries(t *testing.T) {
	db := testagent.Postgres(t)
	ctx := context.Background()
	if _, err := pgstore.Publish(ctx, db, "../gate/testdata/run"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../../examples/grafana/vmbench-history.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Templating struct {
			List []struct{ Query string }
		}
		Panels []struct {
			Title   string
			Targets []struct {
				RawSQL string `json:"rawSql"`
			}
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	queries := map[string]string{"the scenario variable": dash.Templating.List[0].Query}
	for _, p := range dash.Panels {
		for _, q := range p.Targets {
			queries[p.Title] = q.RawSQL
		}
	}
	if len(queries) < 4 {
		t.Fatalf("%d queries in the dashboard", len(queries))
	}
	// Grafana's macros, as it expands them.
	timeFilter := regexp.MustCompile(`\$__timeFilter\(([^)]*)\)`)
	c, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	for name, q := range queries {
		q = strings.ReplaceAll(q, "$scenario", "default")
		q = timeFilter.ReplaceAllString(q, `$1 BETWEEN '2026-01-01' AND '2027-01-01'`)
		var n int
		if err := c.QueryRow(ctx, "SELECT count(*) FROM ("+q+") AS panel").Scan(&n); err != nil {
			t.Errorf("%s: %v\n%s", name, err, q)
		} else if n == 0 {
			t.Errorf("%s: no rows\n%s", name, q)
		}
	}
}
