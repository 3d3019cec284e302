package postgres

import (
	"fmt"
	"github.com/evbench/evbench/drivers/drivertest"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// appendAllParamOIDs are the parameter types of appendAll as the server
// describes the prepared statement (payload=bytea, the default).
var appendAllParamOIDs = []uint32{pgtype.UUIDArrayOID, pgtype.TextArrayOID, pgtype.TextArrayOID,
	pgtype.ByteaArrayOID, pgtype.Int8ArrayOID, pgtype.Int8ArrayOID}

// copyColumnOIDs are the types of statements.columns (payload=bytea).
var copyColumnOIDs = []uint32{pgtype.Int8OID, pgtype.TextOID, pgtype.Int8OID, pgtype.UUIDOID,
	pgtype.TextOID, pgtype.ByteaOID, pgtype.Int8OID, pgtype.Int8OID}

// BenchmarkEncode measures the driver's encode paths without a connection:
//
//   - values: appendAllArgs, the column arrays the default path
//     (batch_insert=values, appendOneTrip) binds to its one statement.
//   - values+pgx: the same, then pgx's encoding of them into the Bind
//     message's parameter bytes (pgx.ExtendedQueryBuilder, as SendBatch
//     does for the cached prepared statement): what goes on the wire.
//   - copy: insertColumns and copyRows, the rows batch_insert=copy hands to
//     CopyFrom (its dedupe plan, made before, is not encoding).
//   - copy+pgx: the same, then pgx's binary COPY row encoding (a copy of
//     pgx's unexported encodeCopyValue loop: field count, then length and
//     pgtype.Map.Encode per value).
func BenchmarkEncode(b *testing.B) {
	for _, n := range drivertest.EncodeBatchSizes {
		batch := drivertest.EncodeEvents(n)
		b.Run(fmt.Sprintf("values/batch=%d", n), func(b *testing.B) {
			var args []any
			drivertest.MeasureEncode(b, n, func() { args = appendAllArgs(batch) })
			_ = args
		})
		b.Run(fmt.Sprintf("values+pgx/batch=%d", n), func(b *testing.B) {
			m := pgtype.NewMap()
			sd := &pgconn.StatementDescription{ParamOIDs: appendAllParamOIDs}
			var eqb pgx.ExtendedQueryBuilder
			drivertest.MeasureEncode(b, n, func() {
				if err := eqb.Build(m, sd, appendAllArgs(batch)); err != nil {
					b.Fatal(err)
				}
			})
		})
		p := makePlan(batch, nil)
		versions := map[string]int64{"order-123": 40_000}
		b.Run(fmt.Sprintf("copy/batch=%d", n), func(b *testing.B) {
			var rows [][]any
			drivertest.MeasureEncode(b, n, func() { rows = insertColumns(batch, p, 1_000_000, versions).copyRows() })
			_ = rows
		})
		b.Run(fmt.Sprintf("copy+pgx/batch=%d", n), func(b *testing.B) {
			m := pgtype.NewMap()
			var buf []byte
			drivertest.MeasureEncode(b, n, func() {
				var err error
				buf, err = encodeCopyRows(m, buf[:0], insertColumns(batch, p, 1_000_000, versions).copyRows())
				if err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// encodeCopyRows encodes rows as pgx's CopyFrom does (binary format).
func encodeCopyRows(m *pgtype.Map, buf []byte, rows [][]any) ([]byte, error) {
	for _, row := range rows {
		buf = append(buf, byte(len(row)>>8), byte(len(row)))
		for i, v := range row {
			sp := len(buf)
			buf = append(buf, 0xff, 0xff, 0xff, 0xff)
			out, err := m.Encode(copyColumnOIDs[i], pgtype.BinaryFormatCode, v, buf)
			if err != nil {
				return nil, err
			}
			if out != nil {
				buf = out
				l := len(buf) - sp - 4
				buf[sp], buf[sp+1], buf[sp+2], buf[sp+3] = byte(l>>24), byte(l>>16), byte(l>>8), byte(l)
			}
		}
	}
	return buf, nil
}
