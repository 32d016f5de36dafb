package otlpcount

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

// The counts agree with pdata's decoded LogRecordCount, for records that
// carry nested values and resources and scopes whose attributes are named
// or valued logRecords.
func TestCountsAgreeWithPdata(t *testing.T) {
	build := func(resources, scopes, records int) plog.Logs {
		ld := plog.NewLogs()
		for range resources {
			rl := ld.ResourceLogs().AppendEmpty()
			rl.Resource().Attributes().PutEmptyMap("logRecords").PutStr("logRecords", "[{},{}]")
			for range scopes {
				sl := rl.ScopeLogs().AppendEmpty()
				sl.Scope().SetName("logRecords")
				sl.Scope().Attributes().PutEmptySlice("log_records").AppendEmpty().SetEmptyMap()
				for i := range records {
					lr := sl.LogRecords().AppendEmpty()
					if i%2 == 1 {
						lr.Body().SetEmptyMap().PutEmptySlice("logRecords").AppendEmpty().SetEmptyMap()
						lr.Attributes().PutStr("k", `"}]{[\"`)
					}
				}
			}
		}
		return ld
	}
	for _, tc := range []struct{ resources, scopes, records int }{{0, 0, 0}, {1, 1, 0}, {1, 1, 1}, {2, 3, 5}, {3, 1, 100}} {
		ld := build(tc.resources, tc.scopes, tc.records)
		want := int64(ld.LogRecordCount())
		var jm plog.JSONMarshaler
		js, err := jm.MarshalLogs(ld)
		require.NoError(t, err)
		assert.Equal(t, want, LogRecordsJSON(js), "JSON %+v", tc)
		req, err := plogotlp.NewExportRequestFromLogs(ld).MarshalJSON()
		require.NoError(t, err)
		assert.Equal(t, want, LogRecordsJSON(req), "request JSON %+v", tc)
		var pm plog.ProtoMarshaler
		pb, err := pm.MarshalLogs(ld)
		require.NoError(t, err)
		assert.Equal(t, want, LogRecordsProto(pb), "protobuf %+v", tc)
		if len(pb) > 1 {
			assert.LessOrEqual(t, LogRecordsProto(pb[:len(pb)/2]), want, "cut protobuf %+v", tc)
		}
	}
	assert.Equal(t, int64(1), LogRecordsJSON([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"a":"`))) // counted as far as it goes
	assert.Equal(t, int64(0), LogRecordsProto([]byte{0xff, 0xff, 0xff}))
}
