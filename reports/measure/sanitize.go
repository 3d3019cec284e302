package measure

import (
	"math"
	"reflect"
)

// Sanitize replaces NaN and ±Inf floats anywhere in r with 0: JSON cannot
// encode them, and one bad division must not cost the whole result.json.
func Sanitize(r *Result) { sanitizeValue(reflect.ValueOf(r).Elem()) }

func sanitizeValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); (math.IsNaN(f) || math.IsInf(f, 0)) && v.CanSet() {
			v.SetFloat(0)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			if v.Kind() == reflect.Interface {
				if f, ok := v.Interface().(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) && v.CanSet() {
					v.Set(reflect.ValueOf(0.0))
				}
				return
			}
			sanitizeValue(v.Elem())
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				sanitizeValue(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // json.RawMessage and []byte
		}
		for i := 0; i < v.Len(); i++ {
			sanitizeValue(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := v.MapIndex(k)
			if f, ok := e.Interface().(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
				v.SetMapIndex(k, reflect.ValueOf(any(0.0)).Convert(v.Type().Elem()))
			}
		}
	}
}
