package jobspec

import (
	"reflect"
	"strings"
	"sync"
)

// structInfo is the json view of a struct type: field name → Go type.
type structInfo struct {
	byName map[string]reflect.Type
	names  []string // in declaration order, for suggestions
}

var structCache sync.Map // reflect.Type → *structInfo

func fieldsOf(t reflect.Type) *structInfo {
	if si, ok := structCache.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{byName: map[string]reflect.Type{}}
	addFields(si, t)
	structCache.Store(t, si)
	return si
}

// addFields follows encoding/json: embedded structs without a name (the
// `json:",inline"` TypeMeta and ObjectMeta) contribute their fields.
func addFields(si *structInfo, t reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addFields(si, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := si.byName[name]; !dup {
			si.names = append(si.names, name)
		}
		si.byName[name] = ft
	}
}
