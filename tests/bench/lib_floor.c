/* lib_floor: does nothing but wait, linked with every library postern-authorizer links, so
 * `make bench` can show what those libraries alone make resident (the floor of the
 * authorizer's RSS that no code of Postern's decides). It exits on SIGTERM. */
#include <unistd.h>

int main(void)
{
	pause();
	return 0;
}
