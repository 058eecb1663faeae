// cplusplus.cpp: tollgate.h compiles as C++ (extern "C", the enums, the
// initializer), for the C++ programs most publishers sell.
#include "tollgate.h"

int main() {
	tg_decision d = TG_DECISION_INIT;
	tg_licensee *lic = nullptr;
	tg_status st = tg_open("server.card", "1AJS2", nullptr, &lic);
	if (st == TG_OK) {
		st = tg_check(lic, TG_CHECK_OFFLINE, &d);
		tg_decision_free(&d);
		tg_close(lic);
	}
	return st == TG_OK && d.reason != TG_REASON_NONE ? 0 : 1;
}
