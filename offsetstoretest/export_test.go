package offsetstoretest

// CaseNames returns the names of the cases [Run] runs, in order, so that
// the package's own tests can check that a broken store shows each one can
// fail.
func CaseNames() []string {
	names := make([]string, len(cases))
	for i, c := range cases {
		names[i] = c.name
	}
	return names
}

// AdminCaseNames returns the names of the cases [RunAdmin] runs, in order,
// as [CaseNames] does for [Run].
func AdminCaseNames() []string {
	names := make([]string, len(adminCases))
	for i, c := range adminCases {
		names[i] = c.name
	}
	return names
}
