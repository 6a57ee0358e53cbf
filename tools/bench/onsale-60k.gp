set terminal pngcairo size 1000,900 font 'sans,10' noenhanced
set output 'onsale-60k.png'
set datafile missing '?'
set key outside right top
set grid
set lmargin 12
set rmargin 22
set multiplot layout 3,1 title 'bilheteria-bench onsale: 60000 seats, 250 buyers/s, hold 2 s'
set ylabel 'per second'
plot 'onsale-60k.dat' using ($1+0.5):2 with lines lw 2 title 'buyers offered', '' using ($1+0.5):3 with lines title 'buyers sent', '' using ($1+0.5):4 with lines title 'calls answered'
set ylabel 'latency (ms)'
set logscale y
plot 'onsale-60k.dat' using ($1+0.5):6 with linespoints title 'p50', '' using ($1+0.5):7 with linespoints lw 2 title 'p99', '' using ($1+0.5):8 with linespoints title 'p99.9', 10 with lines dt 2 lc rgb 'red' title '10 ms'
unset logscale y
set ylabel 'seats'
set xlabel 'seconds since the on-sale opened'
set yrange [0:*]
plot 'onsale-60k.dat' using ($1+1):9 with linespoints lw 2 title 'not sold', '' using ($1+1):10 with linespoints title 'free (not held)'
unset multiplot
