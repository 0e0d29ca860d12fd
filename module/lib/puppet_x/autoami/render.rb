# frozen_string_literal: true

module PuppetX
  module Autoami
    # Console text for results and progress; JSON and YAML rendering is Puppet's own.
    module Render
      def self.progress(params)
        $stdout.puts(params['line']) if params.is_a?(Hash) && params['line']
        $stdout.flush
      end

      # One cell: a missing value shows as `-`, so columns never collapse; a map (region to
      # image) reads as `key=value` pairs.
      def self.text(value)
        case value
        when nil then '-'
        when Array then value.join(',')
        when Hash then value.empty? ? '-' : value.map { |key, item| "#{key}=#{item}" }.join(',')
        else value.to_s
        end
      end

      # Left-aligned columns two spaces apart, without trailing blanks.
      def self.table(rows, columns, empty)
        return empty if rows.nil? || rows.empty?

        lines = [columns.map { |column| column['heading'] }]
        lines.concat(rows.map { |row| columns.map { |column| text(row[column['key']]) } })
        widths = columns.each_index.map { |index| lines.map { |line| line[index].length }.max }
        lines.map { |line| line.each_with_index.map { |cell, index| cell.ljust(widths[index]) }.join('  ').rstrip }.join("\n")
      end

      # `key  value` lines, keys padded to the longest.
      def self.record(result)
        return text(result) unless result.is_a?(Hash)

        width = result.keys.map(&:length).max.to_i
        result.map { |key, value| "#{key.ljust(width)}  #{text(value)}" }.join("\n")
      end

      # Values read as in a table cell, so a map or a list in a message reads the same way.
      def self.message(result, format_string)
        format(format_string, result.to_h { |key, value| [key.to_sym, text(value)] })
      end
    end
  end
end
