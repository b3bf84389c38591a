// Hyperscan parity check for the rule library: compiles every rule regex into one block-mode
// database with the system libhs (as the core's hyperscan engine does) and checks that every
// example line is reported for its own rule. Driven by tools/hs_parity.py.
#include <hs/hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
// usage: hsparity patterns.txt examples.txt ; patterns: one regex per line; examples: "<idx>\t<text>"
static int hit;
static unsigned want;
static int on(unsigned id, unsigned long long f, unsigned long long t, unsigned fl, void *c){ if (id==want) hit=1; return 0; }
static char *readall(const char *p, size_t *n){ FILE *f=fopen(p,"rb"); fseek(f,0,2); *n=ftell(f); rewind(f); char *b=malloc(*n+1); fread(b,1,*n,f); b[*n]=0; fclose(f); return b; }
int main(int argc, char **argv){
  size_t n; char *pb=readall(argv[1],&n);
  const char *pats[4096]; unsigned ids[4096], flags[4096]; int np=0;
  for (char *l=strtok(pb,"\n"); l; l=strtok(NULL,"\n")) { pats[np]=l; ids[np]=np; flags[np]=0; np++; }
  hs_database_t *db; hs_compile_error_t *err;
  if (hs_compile_multi(pats, flags, ids, np, HS_MODE_BLOCK, NULL, &db, &err)!=HS_SUCCESS){ printf("compile error in %d: %s\n", err->expression, err->message); return 1; }
  hs_scratch_t *s=NULL; hs_alloc_scratch(db,&s);
  size_t m; char *eb=readall(argv[2],&m); int miss=0, total=0;
  char *save; for (char *l=strtok_r(eb,"\n",&save); l; l=strtok_r(NULL,"\n",&save)) {
    char *tab=strchr(l,'\t'); *tab=0; want=atoi(l); char *t=tab+1; hit=0; total++;
    hs_scan(db,t,strlen(t),0,s,on,NULL);
    if (!hit){ miss++; printf("MISS rule %u: %.100s\n", want, t); }
  }
  printf("%d patterns, %d examples, %d misses\n", np, total, miss);
  return miss?1:0;
}
